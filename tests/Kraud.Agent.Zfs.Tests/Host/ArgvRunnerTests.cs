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
