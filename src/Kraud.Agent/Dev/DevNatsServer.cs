using System.Diagnostics;
using System.Net.Sockets;
using Kraud.Agent.Hosting;
using Kraud.Agent.Probes;
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
    private Process? _process;

    public string Name => "dev nats-server";
    public string Url => $"nats://127.0.0.1:{port}";
    private string Dir => Path.Combine(stateDir, "nats");
    private string PidFile => Path.Combine(Dir, "nats-server.pid");
    public string LogFile => Path.Combine(Dir, "nats-server.log");

    public bool IsHealthy => _process is { HasExited: false };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string binary = ExecutablePath.Find("nats-server")
            ?? throw new StartupException(ExitCodes.Unavailable, "nats-server not found on PATH: apt install nats-server");
        Directory.CreateDirectory(Dir);
        await StopLeftoverAsync();
        if (await PortAnswersAsync(cancellationToken))
            throw new StartupException(ExitCodes.Unavailable, $"port {port} on 127.0.0.1 is already in use: stop what listens there or pass --port");

        // Its output goes to our log, never to our stdout/stderr: a child holding those open would keep a
        // supervisor waiting for EOF after the agent itself is gone.
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "-js", "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-sd", Path.Combine(Dir, "store"), "-n", "kraud-dev", "-l", LogFile, "-P", PidFile })
            psi.ArgumentList.Add(a);
        // The child must not talk to systemd for us.
        psi.Environment.Remove("NOTIFY_SOCKET");
        psi.Environment.Remove("WATCHDOG_USEC");
        psi.Environment.Remove("WATCHDOG_PID");
        _process = Process.Start(psi) ?? throw new StartupException(ExitCodes.Unavailable, "could not start nats-server");
        _process.OutputDataReceived += (_, e) => { if (!string.IsNullOrEmpty(e.Data)) logger.LogDebug("nats-server: {Line}", e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (!string.IsNullOrEmpty(e.Data)) logger.LogInformation("nats-server: {Line}", e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        logger.LogInformation("started nats-server (pid {Pid}) on {Url}, store {Store}, log {Log}", _process.Id, Url, Path.Combine(Dir, "store"), LogFile);

        var until = DateTime.UtcNow.AddSeconds(15);
        while (!await PortAnswersAsync(cancellationToken))
        {
            if (_process.HasExited)
                throw new StartupException(ExitCodes.Unavailable, $"nats-server exited with {_process.ExitCode} before it was ready; see {LogFile}: {LastLine()}");
            if (DateTime.UtcNow > until)
                throw new StartupException(ExitCodes.Unavailable, $"nats-server did not accept connections on {Url} within 15 s; see {LogFile}");
            await Task.Delay(25, cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken deadline)
    {
        if (_process is null || _process.HasExited) return;
        Native.kill(_process.Id, 15 /* SIGTERM: nats-server flushes its store */);
        try
        {
            await _process.WaitForExitAsync(deadline);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("nats-server did not stop in time; killing it");
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }
        logger.LogInformation("nats-server stopped");
        _process.Dispose();
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
