using System.Diagnostics;
using System.Text;

namespace Kraud.Testing;

/// <summary>
/// A real nats-server process on 127.0.0.1 with JetStream in a temp store dir. Stop/Kill/Restart keep the
/// port and store; Freeze/Thaw use SIGSTOP/SIGCONT. Dispose kills it and removes the dir; every started
/// server is also killed when the test process exits.
/// </summary>
public sealed class NatsServer : IAsyncDisposable, IDisposable
{
    private static readonly List<NatsServer> Live = [];
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Process? _process;
    private bool _frozen;

    static NatsServer()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            NatsServer[] all;
            lock (Live) all = [.. Live];
            foreach (var s in all) s.Dispose();
        };
    }

    private NatsServer(NatsServerOptions options, string dir)
    {
        Options = options with { Port = options.Port == 0 ? FreePort.Next() : options.Port };
        Dir = dir;
        MonitorPort = FreePort.Next();
        File.WriteAllText(ConfigFile, BuildConfig());
    }

    public NatsServerOptions Options { get; }

    public int Port => Options.Port;

    public int MonitorPort { get; }

    /// <summary>Client URL without credentials.</summary>
    public string Url => $"{(Options.TlsCertFile is null ? "nats" : "tls")}://127.0.0.1:{Port}";

    public string Dir { get; }

    public string StoreDir => Path.Combine(Dir, "store");

    public string ConfigFile => Path.Combine(Dir, "nats.conf");

    public string LogFile => Path.Combine(Dir, "nats.log");

    public int Pid => _process?.Id ?? throw new InvalidOperationException("server is not running");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server and waits until it is healthy (JetStream ready).</summary>
    public static async Task<NatsServer> StartAsync(NatsServerOptions? options = null, bool waitReady = true)
    {
        options ??= new NatsServerOptions();
        for (int attempt = 1; ; attempt++)
        {
            var dir = Directory.CreateTempSubdirectory("kraud-nats-").FullName;
            var server = new NatsServer(options, dir);
            lock (Live) Live.Add(server);
            try
            {
                server.Launch();
                if (waitReady) await server.WaitReadyAsync(TimeSpan.FromSeconds(20));
                return server;
            }
            catch (Exception) when (attempt < 3 && options.Port == 0 && server.LostPortRace())
            {
                // A port FreePort handed out was taken before the server bound it (by another test's server, or as
                // the local port of an outgoing connection): try again with new ones.
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    /// <summary>True when the server exited because a port of its own was in use.</summary>
    private bool LostPortRace() =>
        _process is { HasExited: true } && LogTail(100).Contains("address already in use", StringComparison.Ordinal);

    private string BuildConfig()
    {
        var o = Options;
        var sb = new StringBuilder();
        sb.AppendLine($"listen: \"{o.ListenHost}:{o.Port}\"");
        sb.AppendLine($"http: \"127.0.0.1:{MonitorPort}\"");
        sb.AppendLine($"log_file: \"{LogFile}\"");
        if (o.ServerName is not null) sb.AppendLine($"server_name: \"{o.ServerName}\"");
        if (o.JetStream) sb.AppendLine($"jetstream {{ store_dir: \"{StoreDir}\" }}");
        if (o.MaxPayload is { } mp) sb.AppendLine($"max_payload: {mp}");
        if (o.User is not null) sb.AppendLine($"authorization {{ user: \"{o.User}\", password: \"{o.Password}\" }}");
        if (o.Token is not null) sb.AppendLine($"authorization {{ token: \"{o.Token}\" }}");
        if (o.TlsCertFile is not null)
        {
            string ca = o.TlsCaFile is null ? "" : $", ca_file: \"{o.TlsCaFile}\"";
            string verify = o.TlsVerify ? ", verify: true" : "";
            sb.AppendLine($"tls {{ cert_file: \"{o.TlsCertFile}\", key_file: \"{o.TlsKeyFile}\"{ca}{verify} }}");
        }
        if (o.LameDuckDuration is { } ldm)
        {
            sb.AppendLine($"lame_duck_duration: \"{(int)Math.Max(30, ldm.TotalSeconds)}s\"");
            sb.AppendLine("lame_duck_grace_period: \"1s\"");
        }
        if (o.ClusterName is not null)
        {
            var routes = string.Join(", ", o.Routes.Select(r => $"\"{r}\""));
            sb.AppendLine($"cluster {{ name: \"{o.ClusterName}\", listen: \"127.0.0.1:{o.ClusterPort}\", routes: [{routes}] }}");
        }
        if (o.ExtraConfig is not null) sb.AppendLine(o.ExtraConfig);
        return sb.ToString();
    }

    private void Launch()
    {
        var psi = new ProcessStartInfo("nats-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ConfigFile);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start nats-server");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _frozen = false;
    }

    /// <summary>Waits until /healthz says ok (the client port accepts and JetStream is ready).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process is { HasExited: true }) throw new InvalidOperationException($"nats-server exited with {_process.ExitCode}: {LogTail()}");
            try
            {
                var r = await Http.GetAsync($"http://127.0.0.1:{MonitorPort}/healthz");
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > until) throw new TimeoutException($"nats-server on {Port} not ready after {timeout.TotalSeconds} s: {LogTail()}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the client port accepts (healthz may stay red, e.g. a cluster without quorum).</summary>
    public Task WaitAcceptingAsync(TimeSpan timeout) =>
        Deadline.WaitUntilAsync(() => FreePort.IsListening(Port), timeout, $"nats-server accepting on {Port}");

    public string LogTail(int lines = 30)
    {
        try { return string.Join("\n", File.ReadAllLines(LogFile).TakeLast(lines)); }
        catch (IOException) { return "(no log)"; }
    }

    /// <summary>Clean stop (SIGTERM) and wait for exit.</summary>
    public async Task StopAsync()
    {
        if (!IsRunning) return;
        if (_frozen) Thaw();
        ProcessSignals.Send(_process!.Id, ProcessSignals.SigTerm);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { _process.Kill(); await _process.WaitForExitAsync(); }
    }

    /// <summary>SIGKILL and wait for exit.</summary>
    public async Task KillAsync()
    {
        if (!IsRunning) return;
        _process!.Kill();
        await _process.WaitForExitAsync();
        _frozen = false;
    }

    /// <summary>Starts again on the same port with the same store; waits until ready.</summary>
    public async Task RestartAsync(bool waitReady = true)
    {
        await StopAsync();
        _process?.Dispose();
        Launch();
        if (waitReady) await WaitReadyAsync(TimeSpan.FromSeconds(30));
        else await WaitAcceptingAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Starts a stopped/killed server again (same port and store).</summary>
    public async Task StartAgainAsync(bool waitReady = true)
    {
        if (IsRunning) throw new InvalidOperationException("server is running");
        _process?.Dispose();
        Launch();
        if (waitReady) await WaitReadyAsync(TimeSpan.FromSeconds(30));
        else await WaitAcceptingAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGSTOP: the socket stays open but nothing is answered.</summary>
    public void Freeze()
    {
        ProcessSignals.Send(Pid, ProcessSignals.SigStop);
        _frozen = true;
        // kill(2) returns before the group stop completes: a thread mid-request could still answer. Wait until
        // every thread of the server shows state T (stopped).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!AllThreadsStopped(Pid))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"nats-server {Pid} did not stop within 5 s of SIGSTOP");
            Thread.Sleep(1);
        }
    }

    private static bool AllThreadsStopped(int pid)
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            string stat;
            try { stat = File.ReadAllText(Path.Combine(task, "stat")); }
            catch (IOException) { continue; } // the thread exited meanwhile
            // The state follows the command name, which is in parentheses and may itself contain spaces.
            if (stat[(stat.LastIndexOf(')') + 2)..][0] is not ('T' or 't')) return false;
        }
        return true;
    }

    /// <summary>SIGCONT.</summary>
    public void Thaw()
    {
        ProcessSignals.Send(Pid, ProcessSignals.SigCont);
        _frozen = false;
    }

    /// <summary>SIGUSR2: lame duck mode.</summary>
    public void EnterLameDuckMode() => ProcessSignals.Send(Pid, ProcessSignals.SigUsr2);

    public void Dispose()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process?.Dispose();
        _process = null;
        lock (Live) Live.Remove(this);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }
}
