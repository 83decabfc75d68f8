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
/// never, with a delay growing from 100 ms to 5 s. The VMM's output (its log lines, the serial console's among them)
/// is logged by the agent in the pod's scope (Kind Pod, Id).
/// VMs outlive the agent: each VMM runs in a session of its own (`setsid`: a terminal's Ctrl-C or hang-up to the
/// agent's process group does not reach it), the daemon never stops them on its way out, and a new agent adopts them
/// by their pid files (<see cref="AdoptAsync"/>). Only <see cref="DisposeAsync"/> (tests) stops them all.
/// </summary>
/// <param name="vmmPath">kraud-vmm (beside the agent's binary in a real run).</param>
/// <param name="runDir">The VMs' directories (&lt;runDir&gt;/&lt;id&gt;/): each running VMM's pid is kept there in `vmm.pid`, and
/// the request that started it in `vm.json`, so a VMM left by an agent that stopped or died (kill -9) is adopted by the
/// next one, never run twice.</param>
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
        VmRecord.Write(runDir, request);
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

    /// <summary>
    /// Adopts the VMMs an earlier agent of this host left running (each `vmm.pid` whose process still runs kraud-vmm with
    /// the VM's launch file): they are followed from here on (exit, restart policy) as if started here, with the
    /// request of their `vm.json`. Their exit code cannot be known (they are no children of this agent): an adopted
    /// VMM's exit is reported as code -1. VMs already known are left alone.
    /// </summary>
    public Task<IReadOnlyList<VmState>> AdoptAsync(CancellationToken ct)
    {
        var adopted = new List<VmState>();
        if (!Directory.Exists(runDir)) return Task.FromResult<IReadOnlyList<VmState>>(adopted);
        foreach (var dir in Directory.EnumerateDirectories(runDir))
        {
            string id = Path.GetFileName(dir);
            if (_vms.ContainsKey(id) || LeftOverPid(id) is not { } pid) continue;
            var request = VmRecord.Read(runDir, id)?.Request(id)
                ?? new VmStartRequest(id, Path.Combine(dir, "launch.json"), Path.Combine(dir, "serial.log"), "never", "");
            var vm = new ChildVm(this, request);
            if (!_vms.TryAdd(id, vm)) continue;
            vm.Adopt(pid, File.GetLastWriteTimeUtc(PidFile(id)));
            _log.LogInformation("adopted VMM pid {Pid} of pod {Id} left running by an earlier agent", pid, id);
            adopted.Add(vm.State);
        }
        return Task.FromResult<IReadOnlyList<VmState>>(adopted);
    }

    /// <summary>The pid in VM <paramref name="id"/>'s `vmm.pid` when that process is alive and runs this VM's launch file.</summary>
    private int? LeftOverPid(string id)
    {
        string file = PidFile(id);
        try
        {
            if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out int pid)) return null;
            return IsVmmOf(pid, Path.Combine(runDir, id, "launch.json")) ? pid : null;
        }
        catch (IOException) { return null; }
    }

    private static bool IsVmmOf(int pid, string launch)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(launch) && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "); }
        catch (IOException) { return false; }
    }

    /// <summary>A VMM of this pod that no supervisor here started (its agent died): SIGTERM, then SIGKILL after the grace.</summary>
    private async Task StopLeftOverAsync(string id, CancellationToken ct)
    {
        string file = PidFile(id);
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out int pid)) return;
        string launch = Path.Combine(runDir, id, "launch.json");
        bool IsOurs() => IsVmmOf(pid, launch);
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

    /// <summary>Stops following every VM and leaves them running, as the agent's exit or death does (tests use it to
    /// stand for a kill -9 of the agent: the next supervisor adopts the VMs).</summary>
    public void Abandon()
    {
        foreach (var vm in _vms.Values) vm.Abandon();
        _vms.Clear();
    }

    /// <summary>Stops every VM (tests). The daemon never calls it: its VMs outlive it.</summary>
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

    private static readonly string Setsid = Kraud.Commands.ExecutablePath.Find("setsid") ?? "/usr/bin/setsid";

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

        private int? _adoptedPid;

        public void Run() => _loop = Task.Run(LoopAsync);

        /// <summary>No restart and no report from here on; the VMM runs on.</summary>
        public void Abandon() => _stop.Cancel();

        /// <summary>Follows a VMM an earlier agent started: running since <paramref name="since"/>, then the restart policy.</summary>
        public void Adopt(int pid, DateTime since)
        {
            lock (_lock) { _adoptedPid = pid; _pid = pid; _running = true; _startedAt = new DateTimeOffset(since, TimeSpan.Zero); _starts = 1; }
            FirstOutcome.TrySetResult();
            Run();
        }

        /// <summary>Waits on a dedicated thread (poll on a pidfd, never a pool thread) until the adopted VMM exits: -1, its code is unknown here.</summary>
        private Task<int> WaitAdoptedAsync(int pid)
        {
            var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                int fd = Kraud.Libc.Pidfd.Open(pid);
                if (fd < 0) { exited.TrySetResult(-1); return; } // gone already
                try
                {
                    bool gone = Kraud.Libc.Pidfd.WaitExited(fd, _stop.Token);
                    exited.TrySetResult(gone ? -1 : 143);
                }
                catch (Exception e) { exited.TrySetException(e); }
                finally { Kraud.Libc.Native.close(fd); }
            }, 64 * 1024) { IsBackground = true, Name = "vmm-" + pid };
            thread.Start();
            return exited.Task;
        }

        private async Task LoopAsync()
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (!_stop.IsCancellationRequested)
            {
                int code;
                DateTimeOffset began = DateTimeOffset.UtcNow;
                int? adopted;
                lock (_lock) { adopted = _adoptedPid; _adoptedPid = null; }
                try { code = adopted is { } pid ? await WaitAdoptedAsync(pid).ConfigureAwait(false) : await RunOnceAsync().ConfigureAwait(false); }
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

            // setsid first: the VMM leads a session of its own, so it outlives the agent's (execs in place: same pid).
            var prefix = (IReadOnlyList<string>)[Setsid, .. owner._launcherPrefix];
            var psi = new ProcessStartInfo(prefix[0])
            {
                UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            };
            foreach (var a in prefix.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(owner._vmmPath);
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
            p.StandardInput.Close(); // the VMM reads nothing; after an agent's exit nothing would feed it anyway
            using (p)
            {
                // Its lines into the agent's log in the pod's scope (KRAUD_KIND=Pod, KRAUD_ID in the journal). Once the agent is
                // gone the VMM's writes fail (EPIPE) and are dropped; it keeps running, its serial log keeps the console.
                var scope = new Dictionary<string, object> { ["Kind"] = ResourceKinds.Pod, ["Id"] = request.Id };
                p.OutputDataReceived += (_, e) => Forward(e.Data);
                p.ErrorDataReceived += (_, e) => Forward(e.Data);
                void Forward(string? line)
                {
                    if (string.IsNullOrEmpty(line)) return;
                    using (owner._log.BeginScope(scope)) owner._log.LogInformation("vmm: {VmmLine}", line);
                }
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
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
