namespace Kraud.Agent.Tests.Cli;

/// <summary>`kraud-agent dev` brings its own nats-server up and takes it down again.</summary>
public sealed class DevCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public async Task Starts_a_local_jetstream_and_stops_it_cleanly()
    {
        int port = FreePort.Next();
        using var notify = new NotifyListener();
        using var agent = AgentProcess.Start(["dev", "--state-dir", _dir.Path, "--port", port.ToString()],
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Address });
        await Deadline.WaitUntilAsync(() => notify.Has("READY=1") || agent.HasExited, TimeSpan.FromSeconds(30), "READY=1 from dev");
        Assert.True(notify.Has("READY=1"), "dev did not get ready: " + string.Join('\n', agent.Stderr));

        int natsPid = int.Parse(File.ReadAllText(Path.Combine(_dir.Path, "nats", "nats-server.pid")).Trim());
        Assert.True(ProcessSignals.IsAlive(natsPid));
        Assert.True(Directory.Exists(Path.Combine(_dir.Path, "nats", "store")), "the JetStream store lives under the state dir");

        // The server really serves JetStream on the port dev was given.
        using (var doctor = AgentProcess.Start(["doctor"], new Dictionary<string, string?> { ["KRAUD_HOST"] = "h1", ["KRAUD_NATS__SERVERS__0"] = $"nats://127.0.0.1:{port}", ["KRAUD_STATEDIR"] = _dir.File("doctor") }))
        {
            await doctor.WaitForExitAsync(TimeSpan.FromSeconds(20));
            Assert.Contains(doctor.Stdout, l => l.StartsWith("ok    nats 127.0.0.1:" + port, StringComparison.Ordinal) && l.Contains("JetStream on"));
        }

        agent.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(ProcessSignals.IsAlive(natsPid), "nats-server must stop with the agent");
    }

    [Fact]
    public async Task Stops_a_server_left_behind_by_a_killed_agent()
    {
        int port = FreePort.Next();
        var env = new Dictionary<string, string?>();
        using (var first = AgentProcess.Start(["dev", "--state-dir", _dir.Path, "--port", port.ToString()], env))
        {
            string pidFile = Path.Combine(_dir.Path, "nats", "nats-server.pid");
            await Deadline.WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, TimeSpan.FromSeconds(30), "nats pid file");
            first.Signal(ProcessSignals.SigKill);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        int orphan = int.Parse(File.ReadAllText(Path.Combine(_dir.Path, "nats", "nats-server.pid")).Trim());
        Assert.True(ProcessSignals.IsAlive(orphan), "a SIGKILLed agent cannot stop its child");

        using var notify = new NotifyListener();
        using var second = AgentProcess.Start(["dev", "--state-dir", _dir.Path, "--port", port.ToString()],
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Address });
        await Deadline.WaitUntilAsync(() => notify.Has("READY=1") || second.HasExited, TimeSpan.FromSeconds(30), "READY=1");
        Assert.True(notify.Has("READY=1"), string.Join('\n', second.Stderr));
        Assert.False(ProcessSignals.IsAlive(orphan), "the leftover server is stopped before a new one starts");
        second.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Refuses_a_port_in_use_with_exit_69()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var agent = AgentProcess.Start(["dev", "--state-dir", _dir.Path, "--port", port.ToString()]);
        Assert.Equal(69, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains(agent.Stderr, l => l.Contains($"port {port} on 127.0.0.1 is already in use"));
    }

    public void Dispose() => _dir.Dispose();
}
