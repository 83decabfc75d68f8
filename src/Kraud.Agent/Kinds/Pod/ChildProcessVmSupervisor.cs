using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Kraud.Commands;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// The child-process backend: each VM is `kraud-vmm --config FILE` started by the agent with a NOTIFY_SOCKET of its
/// own (a datagram socket beside the launch file), so READY=1 — sent by the VMM right before the guest's first
/// instruction — marks it running. The restart policy is applied here: always, on-failure (exit code not 0) or
/// never, with a delay growing from 100 ms to 5 s. VMs end with the agent (dev mode and tests; the systemd backend
/// is the one that outlives it).
/// </summary>
/// <param name="vmmPath">kraud-vmm (beside the agent's binary in a real run).</param>
/// <param name="runDir">The VMs' directories (&lt;runDir&gt;/&lt;id&gt;/): each running VMM's pid is kept there in `vmm.pid`, so
/// a VMM left by an agent that died (kill -9) is stopped before its pod's VM starts again, never run twice.</param>
/// <param name="launcherPrefix">Argv put before kraud-vmm, e.g. `ip netns exec NAME` for a test's namespace (that execs, keeping the pid).</param>
public sealed class ChildProcessVmSupervisor(string vmmPath, string runDir, IReadOnlyList<string>? launcherPrefix = null, ILogger? logger = null)
    : IVmSupervisor, IAsyncDisposable
{
    private const int SIGTERM = 15, SIGKILL = 9;
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly string _vmmPath = vmmPath;
    private readonly IReadOnlyList<string> _launcherPrefix = launcherPrefix ?? [];
    private readonly ConcurrentDictionary<string, ChildVm> _vms = new(StringComparer.Ordinal);

    public event Action<VmState>? Changed;

    private void RaiseChanged(VmState state)
    {
        try { Changed?.Invoke(state); }
        catch (Exception e) { _log.LogWarning("a VM state listener failed: {Error}", e.Message); }
    }

    /// <summary>How long a stopped VMM gets after SIGTERM before SIGKILL.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>kraud-vmm beside the running binary, else the package's; null when neither exists.</summary>
    public static string? LocateVmm()
    {
        if (Path.GetDirectoryName(Environment.ProcessPath) is { } own && File.Exists(Path.Combine(own, "kraud-vmm"))) return Path.Combine(own, "kraud-vmm");
        return File.Exists("/usr/bin/kraud-vmm") ? "/usr/bin/kraud-vmm" : null;
    }

    public async Task<VmState> StartAsync(VmStartRequest request, CancellationToken ct)
    {
        await StopAsync(request.Id, ct).ConfigureAwait(false);
        var vm = new ChildVm(this, request);
        _vms[request.Id] = vm;
        vm.Run();
        await vm.FirstOutcome.Task.WaitAsync(ct).ConfigureAwait(false);
        return vm.State;
    }

    public async Task StopAsync(string id, CancellationToken ct)
    {
        if (_vms.TryRemove(id, out var vm)) await vm.StopAsync().WaitAsync(ct).ConfigureAwait(false);
        await StopLeftOverAsync(id, ct).ConfigureAwait(false);
    }

    private string PidFile(string id) => Path.Combine(runDir, id, "vmm.pid");

    /// <summary>A VMM of this pod that no supervisor here started (its agent died): SIGTERM, then SIGKILL after the grace.</summary>
    private async Task StopLeftOverAsync(string id, CancellationToken ct)
    {
        string file = PidFile(id);
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out int pid)) return;
        string launch = Path.Combine(runDir, id, "launch.json");
        bool IsOurs()
        {
            try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(launch) && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "); }
            catch (IOException) { return false; }
        }
        if (IsOurs())
        {
            _log.LogWarning("stopping VMM pid {Pid} of pod {Id} left by an earlier agent", pid, id);
            Kraud.Libc.Native.kill(pid, SIGTERM);
            var until = DateTime.UtcNow + StopGrace;
            while (IsOurs() && DateTime.UtcNow < until) await Task.Delay(20, ct).ConfigureAwait(false);
            if (IsOurs()) Kraud.Libc.Native.kill(pid, SIGKILL);
            while (IsOurs()) await Task.Delay(20, ct).ConfigureAwait(false);
        }
        File.Delete(file);
    }

    public VmState? Get(string id) => _vms.TryGetValue(id, out var vm) ? vm.State : null;

    public IReadOnlyList<VmState> List() => _vms.Values.Select(v => v.State).ToList();

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _vms.Keys.ToList()) await StopAsync(id, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The last <paramref name="count"/> lines of a serial log (empty when it does not exist).</summary>
    public static IReadOnlyList<string> SerialTail(string path, int count = 20)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            long start = Math.Max(0, f.Length - 8192);
            f.Seek(start, SeekOrigin.Begin);
            var text = new StreamReader(f, Encoding.UTF8).ReadToEnd();
            var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
            if (start > 0 && lines.Count > 0) lines.RemoveAt(0); // cut in the middle
            return lines.TakeLast(count).ToList();
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    private sealed class ChildVm(ChildProcessVmSupervisor owner, VmStartRequest request)
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly object _lock = new();
        private Process? _process;
        private Task _loop = Task.CompletedTask;
        private int? _pid;
        private bool _running;
        private DateTimeOffset? _startedAt;
        private int _starts;
        private VmExit? _lastExit;

        public TaskCompletionSource FirstOutcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public VmState State
        {
            get
            {
                lock (_lock) return new VmState(request.Id, null, _pid, _running, _startedAt, Math.Max(0, _starts - 1), _lastExit, request.LaunchHash);
            }
        }

        public void Run() => _loop = Task.Run(LoopAsync);

        private async Task LoopAsync()
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (!_stop.IsCancellationRequested)
            {
                int code;
                DateTimeOffset began = DateTimeOffset.UtcNow;
                try { code = await RunOnceAsync().ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    owner._log.LogError(e, "starting the VMM of pod {Id} failed", request.Id);
                    code = 1;
                }
                var exit = new VmExit(code, DateTimeOffset.UtcNow, SerialTail(request.SerialLog));
                lock (_lock) { _running = false; _pid = null; _lastExit = exit; }
                if (_stop.IsCancellationRequested) break;
                if (!FirstOutcome.TrySetResult()) owner.RaiseChanged(State);
                owner._log.LogWarning("VMM of pod {Id} exited with {Code}", request.Id, code);
                bool again = request.Restart switch { "always" => true, "on-failure" => code != 0, _ => false };
                // 65 is a launch file the VMM refuses: starting it again cannot help.
                if (!again || code == 65) break;
                if (DateTimeOffset.UtcNow - began > TimeSpan.FromSeconds(10)) delay = TimeSpan.FromMilliseconds(100);
                try { await Task.Delay(delay, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }

        private async Task<int> RunOnceAsync()
        {
            string dir = Path.GetDirectoryName(request.LaunchFile)!;
            // A name of its own per start: .NET unlinks a bound socket's path when it is disposed, so a shared name could be
            // taken from under this start by an earlier one's socket closing late (a VMM left by an earlier agent).
            string notifyPath = Path.Combine(dir, $"notify-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}.sock");
            using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

            var prefix = owner._launcherPrefix;
            var psi = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : owner._vmmPath) { UseShellExecute = false };
            foreach (var a in prefix.Skip(1)) psi.ArgumentList.Add(a);
            if (prefix.Count > 0) psi.ArgumentList.Add(owner._vmmPath);
            psi.ArgumentList.Add("--config");
            psi.ArgumentList.Add(request.LaunchFile);
            foreach (var (name, value) in ChildEnvironment.Overrides(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath }))
            {
                if (value is null) psi.Environment.Remove(name); else psi.Environment[name] = value;
            }
            Process p;
            lock (_lock)
            {
                if (_stop.IsCancellationRequested) return 143;
                p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {owner._vmmPath}");
                _process = p;
                _pid = p.Id;
                _starts++;
            }
            File.WriteAllText(owner.PidFile(request.Id), p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            owner._log.LogInformation("started VMM of pod {Id}: pid {Pid}", request.Id, p.Id);
            using (p)
            {
                var exited = p.WaitForExitAsync();
                var buffer = new byte[512];
                while (true)
                {
                    var receive = notify.ReceiveAsync(buffer, SocketFlags.None);
                    if (await Task.WhenAny(receive, exited).ConfigureAwait(false) == exited) break;
                    string text = Encoding.UTF8.GetString(buffer, 0, await receive.ConfigureAwait(false));
                    if (text.Split('\n').Contains("READY=1"))
                    {
                        lock (_lock) { _running = true; _startedAt = DateTimeOffset.UtcNow; }
                        owner._log.LogInformation("VM of pod {Id} running (pid {Pid})", request.Id, p.Id);
                        if (!FirstOutcome.TrySetResult()) owner.RaiseChanged(State);
                    }
                }
                await exited.ConfigureAwait(false);
                lock (_lock) _process = null;
                return p.ExitCode;
            }
        }

        public async Task StopAsync()
        {
            _stop.Cancel();
            Process? p;
            lock (_lock) p = _process;
            if (p is not null)
            {
                try
                {
                    Kraud.Libc.Native.kill(p.Id, SIGTERM);
                    using var grace = new CancellationTokenSource(owner.StopGrace);
                    try { await p.WaitForExitAsync(grace.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { Kraud.Libc.Native.kill(p.Id, SIGKILL); }
                }
                catch (InvalidOperationException) { /* exited and disposed meanwhile */ }
            }
            await _loop.ConfigureAwait(false);
            FirstOutcome.TrySetResult();
        }
    }
}
