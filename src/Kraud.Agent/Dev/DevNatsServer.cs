using System.Net.Sockets;
using Kraud.Agent.Hosting;
using Kraud.Commands;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Dev;

/// <summary>
/// The local JetStream server of `kraud-agent dev`: a `nats-server -js` child on 127.0.0.1 with its store
/// under the state directory. Started before and stopped after everything else. A server left behind by an
/// agent that was killed is found through its pid file and stopped first.
/// </summary>
public sealed class DevNatsServer(string stateDir, int port, ILogger<DevNatsServer> logger) : IAgentService
{
    private RunningCommand? _process;

    public string Name => "dev nats-server";
    public string Url => $"nats://127.0.0.1:{port}";
    private string Dir => Path.Combine(stateDir, "nats");
    private string PidFile => Path.Combine(Dir, "nats-server.pid");
    public string LogFile => Path.Combine(Dir, "nats-server.log");

    public bool IsHealthy => _process is { HasExited: false };

    /// <summary>The server's pid while it runs (0 before).</summary>
    public int ProcessId => _process?.ProcessId ?? 0;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string binary = ExecutablePath.Find("nats-server")
            ?? throw new StartupException(ExitCodes.Unavailable, "nats-server not found on PATH: apt install nats-server");
        Directory.CreateDirectory(Dir);
        await StopLeftoverAsync();
        if (await PortAnswersAsync(cancellationToken))
            throw new StartupException(ExitCodes.Unavailable, $"port {port} on 127.0.0.1 is already in use: stop what listens there or pass --port");

        // Its output goes to our log, never to our stdout/stderr: a child holding those open would keep a
        // supervisor waiting for EOF after the agent itself is gone. The runner gives it only the allow-listed
        // environment: none of the agent's configuration or secrets, and it cannot talk to systemd for us.
        var runner = new ArgvRunner(logger) { OutputLevel = LogLevel.Information };
        _process = runner.Start([binary, "-js", "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-sd", Path.Combine(Dir, "store"), "-n", "kraud-dev", "-l", LogFile, "-P", PidFile]);
        logger.LogInformation("started nats-server (pid {Pid}) on {Url}, store {Store}, log {Log}", _process.ProcessId, Url, Path.Combine(Dir, "store"), LogFile);

        var until = DateTime.UtcNow.AddSeconds(15);
        while (!await PortAnswersAsync(cancellationToken))
        {
            if (_process.HasExited)
                throw new StartupException(ExitCodes.Unavailable, $"nats-server exited with {(await _process.Exited).ExitCode} before it was ready; see {LogFile}: {LastLine()}");
            if (DateTime.UtcNow > until)
                throw new StartupException(ExitCodes.Unavailable, $"nats-server did not accept connections on {Url} within 15 s; see {LogFile}");
            await Task.Delay(25, cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken deadline)
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            // SIGTERM: nats-server shuts down cleanly and flushes its store; at the deadline its process tree is killed.
            if (!await _process.StopAsync(deadline)) logger.LogWarning("nats-server did not stop in time; killed it");
            logger.LogInformation("nats-server stopped");
        }
        await _process.DisposeAsync();
        _process = null;
    }

    private async Task StopLeftoverAsync()
    {
        if (!File.Exists(PidFile) || !int.TryParse(File.ReadAllText(PidFile).Trim(), out int pid)) return;
        string comm = $"/proc/{pid}/comm";
        if (!File.Exists(comm) || File.ReadAllText(comm).Trim() != "nats-server") return;
        logger.LogWarning("stopping nats-server {Pid} left behind by an earlier run", pid);
        Native.kill(pid, 15);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (File.Exists(comm) && DateTime.UtcNow < until) await Task.Delay(25);
        if (File.Exists(comm)) Native.kill(pid, 9);
    }

    private async Task<bool> PortAnswersAsync(CancellationToken ct)
    {
        try
        {
            using var c = new TcpClient();
            using var t = CancellationTokenSource.CreateLinkedTokenSource(ct);
            t.CancelAfter(500);
            await c.ConnectAsync("127.0.0.1", port, t.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private string LastLine()
    {
        try
        {
            return File.ReadLines(LogFile).LastOrDefault(l => l.Length > 0) ?? "(empty log)";
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
