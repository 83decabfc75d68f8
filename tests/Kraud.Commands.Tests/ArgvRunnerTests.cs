using System.Text;
using CliWrap;
using Kraud.Testing;
using Microsoft.Extensions.Logging;

namespace Kraud.Commands.Tests;

public class ArgvRunnerTests
{
    [Fact]
    public async Task PassesArgumentsVerbatimWithoutAShell()
    {
        var r = await ArgvRunner.Default.RunCheckedAsync(["/bin/echo", "a b", "$(id)", "; rm -rf /", "*"]);
        Assert.Equal("a b $(id) ; rm -rf / *\n", r.Stdout);

        // Every word arrives as one argument, whatever quoting it would need on a command line.
        string[] words = ["", "\"", "a\\\"b\\", "tab\there", "line\nbreak", "'single'", "x y  z", "\\\\", "ü€"];
        var printed = await ArgvRunner.Default.RunCheckedAsync(["/usr/bin/printf", "[%s]", .. words]);
        Assert.Equal(string.Concat(words.Select(w => "[" + w + "]")), printed.Stdout);
    }

    [Fact]
    public async Task RefusesNulInAnArgument()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => ArgvRunner.Default.RunAsync(["/bin/echo", "a\0b"]));
        Assert.Contains("NUL", e.Message);
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
            var zfsLike = ArgvRunner.Default.WithVariable("LC_ALL", "C");
            var r = await zfsLike.RunCheckedAsync(["/bin/cat", "/proc/self/environ"]);
            var environ = r.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("LC_ALL=C", environ);
            Assert.Contains(environ, v => v.StartsWith("PATH=", StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.StartsWith("KRAUD_", StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.StartsWith("CREDENTIALS_DIRECTORY=", StringComparison.Ordinal));
            Assert.All(environ, v => Assert.True(ChildEnvironment.IsAllowed(v[..v.IndexOf('=')]), v));

            // The streaming path gets the same environment.
            using var output = new MemoryStream();
            (await ArgvRunner.Default.RunPipedAsync(["/bin/cat", "/proc/self/environ"], stdin: null, PipeTarget.ToStream(output))).EnsureSuccess();
            string streamed = Encoding.UTF8.GetString(output.ToArray());
            Assert.Contains("PATH=", streamed);
            Assert.DoesNotContain(secret, streamed);
            Assert.DoesNotContain("LC_ALL=C", streamed.Split('\0')); // only the runner that asked for it sets it
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
            ArgvRunner.Default.WithVariable("LC_ALL", "C").RunCheckedAsync(["/bin/ls", "/definitely/not/here"]));
        Assert.Contains("/bin/ls /definitely/not/here exited 2", e.Message);
        Assert.Contains("No such file or directory", e.Message);
        Assert.Equal(2, e.Result.ExitCode);
    }

    [Fact]
    public async Task StderrReachesTheLoggerNamingTheCommand()
    {
        var log = new CapturingLogger();
        var runner = new ArgvRunner(log).WithVariable("LC_ALL", "C");
        var r = await runner.RunAsync(["/bin/ls", "/definitely/not/here"]);

        var line = Assert.Single(log.Lines, e => e.Message.Contains("No such file or directory"));
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.StartsWith("ls[", line.Message);
        Assert.Contains(r.Stderr.Trim(), line.Message); // the same line the result keeps for the error
        // Stdout that a caller parses stays out of the log (only the command line is there, at its start).
        var listed = await runner.RunCheckedAsync(["/bin/echo", "parsed-" + Guid.NewGuid().ToString("N")]);
        Assert.Contains(log.Lines, e => e.Message.EndsWith(" started: /bin/echo " + listed.Stdout.Trim(), StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, e => e.Message.EndsWith("]: " + listed.Stdout.Trim(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task StdoutNobodyReadsReachesTheLogger()
    {
        var log = new CapturingLogger();
        string marker = "out-" + Guid.NewGuid().ToString("N");
        var r = await new ArgvRunner(log).RunPipedAsync(["/bin/echo", marker], stdin: null, stdout: null);
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(log.Lines, e => e.Message.EndsWith("]: " + marker, StringComparison.Ordinal));
        Assert.StartsWith("echo[", line.Message);
    }

    [Fact]
    public async Task TimeLimitKillsTheProcessTree()
    {
        using var dir = new TempDir();
        string pidFile = dir.File("grandchild.pid");
        var started = DateTime.UtcNow;
        // sh starts a grandchild and waits for it: killing only sh would leave the sleep running.
        var e = await Assert.ThrowsAsync<CommandTimeoutException>(() =>
            ArgvRunner.Default.RunAsync(["/bin/sh", "-c", "sleep 30 & echo $! > \"$0\"; wait", pidFile], timeout: TimeSpan.FromMilliseconds(1500)));
        Assert.Contains("did not finish within 1.5 s", e.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        int grandchild = int.Parse(File.ReadAllText(pidFile).Trim());
        await Deadline.WaitUntilAsync(() => !ProcessSignals.IsAlive(grandchild), TimeSpan.FromSeconds(10), "the grandchild to be killed");
    }

    [Fact]
    public async Task CancellationKillsTheProcessTree()
    {
        using var dir = new TempDir();
        string pidFile = dir.File("grandchild.pid");
        using var cts = new CancellationTokenSource();
        var run = ArgvRunner.Default.RunAsync(["/bin/sh", "-c", "sleep 30 & echo $! > \"$0\"; wait", pidFile], ct: cts.Token);
        await Deadline.WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), TimeSpan.FromSeconds(10), "the grandchild's pid");
        int grandchild = int.Parse(File.ReadAllText(pidFile).Trim());
        Assert.True(ProcessSignals.IsAlive(grandchild));
        cts.Cancel();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(cts.Token, e.CancellationToken);
        await Deadline.WaitUntilAsync(() => !ProcessSignals.IsAlive(grandchild), TimeSpan.FromSeconds(10), "the grandchild to be killed");
    }

    [Fact]
    public async Task FeedsStdin()
    {
        var r = await ArgvRunner.Default.RunCheckedAsync(["/bin/cat"], stdin: "line\n");
        Assert.Equal("line\n", r.Stdout);
    }

    [Fact]
    public async Task StreamsThroughPipesInChunks()
    {
        // 64 MiB through cat without either side holding it: the source makes it as it goes, the target counts.
        const int chunk = 1 << 16, chunks = 1024;
        long received = 0, largestRead = 0;
        var source = PipeSource.Create(async (stdin, ct) =>
        {
            var block = new byte[chunk];
            for (int i = 0; i < chunks; i++)
            {
                block.AsSpan().Fill((byte)i);
                await stdin.WriteAsync(block, ct);
            }
        });
        var target = PipeTarget.Create(async (stdout, ct) =>
        {
            var buffer = new byte[1 << 20];
            int n;
            while ((n = await stdout.ReadAsync(buffer, ct)) > 0)
            {
                received += n;
                largestRead = Math.Max(largestRead, n);
            }
        });
        (await ArgvRunner.Default.RunPipedAsync(["/bin/cat"], source, target)).EnsureSuccess();
        Assert.Equal((long)chunk * chunks, received);
        Assert.True(largestRead < received / 16, $"read {largestRead} bytes at once of {received}");
    }

    [Fact]
    public async Task MissingProgramIsAClearError()
    {
        var e = await Assert.ThrowsAsync<IOException>(() => ArgvRunner.Default.RunAsync(["/nonexistent/zfs", "list"]));
        Assert.Contains("could not start /nonexistent/zfs list", e.Message);
    }

    [Fact]
    public async Task StartedProgramStopsOnSigterm()
    {
        var log = new CapturingLogger();
        // SIGINT ignored as in a child of an agent started as a background job: the stop must not depend on it.
        await using var running = new ArgvRunner(log).Start(["/bin/sh", "-c", "trap '' INT; echo up; exec sleep 30"]);
        await Deadline.WaitUntilAsync(() => log.Lines.Any(e => e.Message == $"sh[{running.ProcessId}]: up"), TimeSpan.FromSeconds(10), "its first line in the log");
        Assert.True(ProcessSignals.IsAlive(running.ProcessId));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.True(await running.StopAsync(deadline.Token), "sleep ends on SIGTERM");
        Assert.False(ProcessSignals.IsAlive(running.ProcessId));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.Exited);
    }

    [Fact]
    public async Task StartedProgramIgnoringSigtermIsKilledWithItsChildrenAtTheDeadline()
    {
        using var dir = new TempDir();
        string pidFile = dir.File("grandchild.pid");
        await using var running = ArgvRunner.Default.Start(["/bin/sh", "-c", "trap '' TERM; sleep 30 & echo $! > \"$0\"; wait", pidFile]);
        await Deadline.WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), TimeSpan.FromSeconds(10), "the grandchild's pid");
        int grandchild = int.Parse(File.ReadAllText(pidFile).Trim());
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        Assert.False(await running.StopAsync(deadline.Token), "it ignores SIGTERM");
        Assert.True(running.HasExited);
        await Deadline.WaitUntilAsync(() => !ProcessSignals.IsAlive(grandchild), TimeSpan.FromSeconds(10), "the grandchild to be killed");
    }

    [Fact]
    public async Task StartedProgramThatEndsReportsItsExit()
    {
        await using var running = ArgvRunner.Default.Start(["/bin/sh", "-c", "echo bad >&2; exit 3"]);
        var r = await running.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("bad\n", r.Stderr);
    }
}
