using System.Collections.Concurrent;
using System.Globalization;
using Kraud.Commands;
using Kraud.Libc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// Each share's virtiofsd as a supervised child of the agent (ArgvRunner.Start, its output in the log): started
/// again whenever it exits while its pod wants it (virtiofsd exits when its VM disconnects), after 100 ms growing to
/// 5 s. Sandboxed as Debian's virtiofsd allows (`-o sandbox=namespace`: its own mount, pid and net namespaces,
/// pivot_root into the shared directory). A read-only share is served from a read-only bind mount of the
/// directory at &lt;podDir&gt;/ro-&lt;tag&gt; (this virtiofsd has no read-only option), so the refusal is the host
/// kernel's, whatever the guest does. Each daemon's pid is kept in &lt;podDir&gt;/&lt;tag&gt;.pid, so a daemon left by
/// an agent that died is stopped before the pod's are started again.
/// </summary>
public sealed class ChildProcessShareDaemons(string virtiofsdPath, ILogger? logger = null) : IShareDaemons, IAsyncDisposable
{
    public const string DebianVirtiofsd = "/usr/lib/qemu/virtiofsd";

    /// <summary>
    /// The daemon's options after its socket and source; systemd/kraud-virtiofsd@.service and bench/virtiofs use the
    /// same. `cache=auto`: close-to-open consistency, as several pods may share a volume; `--thread-pool-size=0`
    /// (this version's default, stated so a daemon with another default behaves the same): each request is served on
    /// the queue's own thread; a pool adds a hand-over per request and measured slower (docs/kvm.md, bench/virtiofs).
    /// </summary>
    public static readonly string[] DaemonOptions = ["-o", "sandbox=namespace", "-o", "cache=auto", "--thread-pool-size=0"];
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly ArgvRunner _runner = new(logger);
    private readonly ConcurrentDictionary<string, List<Supervised>> _pods = new(StringComparer.Ordinal);

    /// <summary>How long a daemon may take to put its socket in place.</summary>
    public TimeSpan SocketTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public async Task StartAsync(string id, string podDir, IReadOnlyList<PodShare> shares, CancellationToken ct)
    {
        await StopAsync(id, podDir, ct).ConfigureAwait(false);
        if (shares.Count == 0) return;
        var daemons = new List<Supervised>();
        _pods[id] = daemons;
        foreach (var share in shares)
        {
            string source = ReadOnlyShareViews.SourceOf(podDir, share);
            File.Delete(share.Socket); // so the socket that appears is the new daemon's
            string[] argv = [virtiofsdPath, $"--socket-path={share.Socket}", "-o", $"source={source}", .. DaemonOptions];
            var d = new Supervised(this, id, share, argv, Path.Combine(podDir, share.Tag + ".pid"));
            daemons.Add(d);
            d.Run();
        }
        var until = DateTime.UtcNow + SocketTimeout;
        foreach (var d in daemons)
        {
            while (!File.Exists(d.Share.Socket))
            {
                if (DateTime.UtcNow > until)
                    throw new TransientReconcileException($"share {d.Share.Tag} (volume {d.Share.Volume}): virtiofsd made no socket within {SocketTimeout.TotalSeconds:0} s: {d.LastStderr}");
                await Task.Delay(10, ct).ConfigureAwait(false);
            }
        }
    }

    public async Task StopAsync(string id, string podDir, CancellationToken ct)
    {
        if (_pods.TryRemove(id, out var daemons))
            foreach (var d in daemons) await d.StopAsync().ConfigureAwait(false);
        if (!Directory.Exists(podDir)) return;
        foreach (var pidFile in Directory.EnumerateFiles(podDir, "fs*.pid")) await StopLeftOverAsync(pidFile, ct).ConfigureAwait(false);
        ReadOnlyShareViews.RemoveAll(id, podDir, _log);
    }

    public IReadOnlyDictionary<string, int> Running(string id) =>
        _pods.TryGetValue(id, out var daemons)
            ? daemons.Where(d => d.Pid is not null).ToDictionary(d => d.Share.Tag, d => d.Pid!.Value, StringComparer.Ordinal)
            : new Dictionary<string, int>();

    /// <summary>A virtiofsd of this pod no supervisor here started (its agent died): killed, as it serves no VM of ours.</summary>
    private async Task StopLeftOverAsync(string pidFile, CancellationToken ct)
    {
        if (int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            string socketArg = "--socket-path=" + Path.ChangeExtension(pidFile, ".sock");
            bool IsOurs()
            {
                try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(socketArg) && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "); }
                catch (IOException) { return false; }
            }
            if (IsOurs())
            {
                _log.LogWarning("stopping virtiofsd pid {Pid} ({PidFile}) left by an earlier agent", pid, pidFile);
                Native.kill(pid, 9);
                while (IsOurs()) await Task.Delay(10, ct).ConfigureAwait(false);
            }
        }
        File.Delete(pidFile);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (id, daemons) in _pods.ToList())
        {
            _pods.TryRemove(id, out _);
            foreach (var d in daemons) await d.StopAsync().ConfigureAwait(false);
        }
    }

    private sealed class Supervised(ChildProcessShareDaemons owner, string podId, PodShare share, string[] argv, string pidFile)
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _loop = Task.CompletedTask;
        private RunningCommand? _current;

        public PodShare Share => share;
        public int? Pid => _current is { HasExited: false } c ? c.ProcessId : null;
        public string LastStderr { get; private set; } = "";

        public void Run() => _loop = Task.Run(LoopAsync);

        private async Task LoopAsync()
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (!_stop.IsCancellationRequested)
            {
                DateTime began = DateTime.UtcNow;
                try
                {
                    await using var command = owner._runner.Start(argv, $"virtiofsd[{podId}/{share.Tag}]");
                    _current = command;
                    File.WriteAllText(pidFile, command.ProcessId.ToString(CultureInfo.InvariantCulture));
                    owner._log.LogInformation("pod {Id}: virtiofsd for share {Tag} (volume {Volume}, {Mode}) started: pid {Pid}",
                        podId, share.Tag, share.Volume, share.ReadOnly ? "read-only" : "read-write", command.ProcessId);
                    var exited = await Task.WhenAny(command.Exited, Task.Delay(Timeout.Infinite, _stop.Token)).ConfigureAwait(false);
                    if (exited != command.Exited)
                    {
                        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                        await command.StopAsync(grace.Token).ConfigureAwait(false);
                        break;
                    }
                    var result = await command.Exited.ConfigureAwait(false);
                    LastStderr = result.Stderr.Trim();
                    owner._log.LogInformation("pod {Id}: virtiofsd for share {Tag} exited with {Code}; starting it again", podId, share.Tag, result.ExitCode);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested) { break; }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LastStderr = e.Message;
                    owner._log.LogWarning("pod {Id}: virtiofsd for share {Tag} failed: {Error}", podId, share.Tag, e.Message);
                }
                if (DateTime.UtcNow - began > TimeSpan.FromSeconds(10)) delay = TimeSpan.FromMilliseconds(100);
                try { await Task.Delay(delay, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            File.Delete(pidFile);
            File.Delete(share.Socket);
        }
    }
}
