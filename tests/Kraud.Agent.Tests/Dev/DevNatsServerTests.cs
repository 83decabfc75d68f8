using Kraud.Agent.Dev;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Tests.Dev;

/// <summary>
/// The `dev` nats-server child, started in this process: what it inherits and how it stops. Alone, not beside other
/// tests: it sets KRAUD_* variables in this process, which in-process config loading would read.
/// </summary>
[Collection(ProcessEnvironment.Name)]
public sealed class DevNatsServerTests : IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public async Task TheServerGetsNoneOfTheAgentsConfiguration()
    {
        // The agent's environment carries its configuration, NATS credentials included (KRAUD_NATS__PASSWORD).
        string secret = "pw-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("KRAUD_NATS__PASSWORD", secret);
        Environment.SetEnvironmentVariable("KRAUD_HOST", "h-env-test");
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", "/run/systemd/notify-test");
        var server = new DevNatsServer(_dir.Path, FreePort.Next(), NullLogger<DevNatsServer>.Instance);
        try
        {
            await server.StartAsync(CancellationToken.None);
            int pid = server.ProcessId;
            Assert.Equal("nats-server", File.ReadAllText($"/proc/{pid}/comm").Trim());
            var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(environ, v => v.StartsWith("PATH=", StringComparison.Ordinal)); // we did read its environment
            Assert.DoesNotContain(environ, v => v.StartsWith("KRAUD_", StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.StartsWith("NOTIFY_SOCKET=", StringComparison.Ordinal));

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await server.StopAsync(deadline.Token);
            Assert.False(ProcessSignals.IsAlive(pid), "nats-server stops with the agent");
            Assert.False(server.IsHealthy);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KRAUD_NATS__PASSWORD", null);
            Environment.SetEnvironmentVariable("KRAUD_HOST", null);
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await server.StopAsync(cleanup.Token);
        }
    }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "sets the process environment";
}
