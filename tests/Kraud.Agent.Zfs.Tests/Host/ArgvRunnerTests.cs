using Kraud.Agent.Zfs.Commands;

namespace Kraud.Agent.Zfs.Tests.Host;

public class ArgvRunnerTests
{
    [Fact]
    public async Task PassesArgumentsVerbatimWithoutAShell()
    {
        var r = await ArgvRunner.Default.RunCheckedAsync(["/bin/echo", "a b", "$(id)", "; rm -rf /", "*"]);
        Assert.Equal("a b $(id) ; rm -rf / *\n", r.Stdout);
    }

    [Fact]
    public async Task ChildrenGetNoneOfTheAgentsSecrets()
    {
        // The agent's environment carries its configuration, NATS credentials included (KRAUD_NATS__PASSWORD).
        string secret = "pw-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("KRAUD_NATS__PASSWORD", secret);
        Environment.SetEnvironmentVariable("CREDENTIALS_DIRECTORY", "/run/credentials/kraud-agent.service");
        try
        {
            var r = await ArgvRunner.Default.RunCheckedAsync(["/bin/cat", "/proc/self/environ"]);
            var environ = r.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("LC_ALL=C", environ);
            Assert.Contains(environ, v => v.StartsWith("PATH=", StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.StartsWith("KRAUD_", StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.StartsWith("CREDENTIALS_DIRECTORY=", StringComparison.Ordinal));

            await using var streaming = ArgvRunner.Default.StartStreaming(["/bin/cat", "/proc/self/environ"], stdin: false, stdout: true);
            using var output = new MemoryStream();
            await streaming.Stdout.CopyToAsync(output);
            (await streaming.WaitAsync(TimeSpan.FromSeconds(30))).EnsureSuccess();
            string streamed = System.Text.Encoding.UTF8.GetString(output.ToArray());
            Assert.Contains("PATH=", streamed);
            Assert.DoesNotContain(secret, streamed);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KRAUD_NATS__PASSWORD", null);
            Environment.SetEnvironmentVariable("CREDENTIALS_DIRECTORY", null);
        }
    }

    [Fact]
    public async Task NonZeroExitThrowsWithArgvAndStderr()
    {
        var e = await Assert.ThrowsAsync<CommandFailedException>(() =>
            ArgvRunner.Default.RunCheckedAsync(["/bin/ls", "/definitely/not/here"]));
        Assert.Contains("/bin/ls /definitely/not/here exited 2", e.Message);
        Assert.Contains("No such file or directory", e.Message);
        Assert.Equal(2, e.Result.ExitCode);
    }

    [Fact]
    public async Task TimeLimitKillsTheProcess()
    {
        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<CommandTimeoutException>(() =>
            ArgvRunner.Default.RunAsync(["/bin/sleep", "30"], timeout: TimeSpan.FromMilliseconds(300)));
        Assert.Contains("did not finish within 0.3 s", e.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task FeedsStdin()
    {
        var r = await ArgvRunner.Default.RunCheckedAsync(["/bin/cat"], stdin: "line\n");
        Assert.Equal("line\n", r.Stdout);
    }

    [Fact]
    public async Task MissingProgramIsAClearError()
    {
        var e = await Assert.ThrowsAsync<IOException>(() => ArgvRunner.Default.RunAsync(["/nonexistent/zfs", "list"]));
        Assert.Contains("could not start /nonexistent/zfs list", e.Message);
    }
}
