using System.Collections.Concurrent;
using Kraud.Systemd.DBus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// The systemd backend (systemd PID 1): each VM is `kraud-vm@&lt;id&gt;.service` (systemd/kraud-vm@.service, Type=notify:
/// its start job ends when the VMM sends READY=1 right before the guest's first instruction, or fails when the VMM
/// exits first). Units are started and stopped through systemd's D-Bus API and followed by its PropertiesChanged
/// signals (<see cref="SystemdManager"/>), never by running systemctl. The unit has Restart=no: the restart policy
/// (always, on-failure, never; 100 ms growing to 5 s; exit 65 never) is applied here, so it is the same as the child
/// backend's and each restart is counted. The units are not the agent's children: an agent that stops or dies leaves
/// them running, and the next one adopts them (<see cref="AdoptAsync"/>). Ids are used as the instance name as they
/// are: a pod id has nothing systemd would escape, and the unit's paths use %i.
/// </summary>
public sealed class SystemdVmSupervisor : IVmSupervisor, IAsyncDisposable
{
    public const string UnitPattern = "kraud-vm@*.service";
    private readonly string _runDir;
    private readonly ILogger _log;
    private readonly Func<CancellationToken, Task<SystemdManager>> _connect;
    private readonly ConcurrentDictionary<string, UnitVm> _vms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private SystemdManager? _manager;

    /// <param name="connect">How to reach systemd (default: the system bus, else its private socket).</param>
    public SystemdVmSupervisor(string runDir, ILogger? logger = null, Func<CancellationToken, Task<SystemdManager>>? connect = null)
    {
        _runDir = runDir;
        _log = logger ?? NullLogger.Instance;
        _connect = connect ?? (ct => SystemdManager.ConnectAsync(_log, ct: ct));
    }

    public event Action<VmState>? Changed;

    public static string UnitOf(string id) => $"kraud-vm@{id}.service";

    /// <summary>The VM id of a unit name `kraud-vm@&lt;id&gt;.service`, null for any other name.</summary>
    public static string? IdOf(string unit) =>
        unit.StartsWith("kraud-vm@", StringComparison.Ordinal) && unit.EndsWith(".service", StringComparison.Ordinal) && unit.Length > 17
            ? unit[9..^8] : null;

    public async Task<VmState> StartAsync(VmStartRequest request, CancellationToken ct)
    {
        // A stop job, even for a unit that is down, propagates to the PartOf= units: the pod's share daemons, just started.
        var unitNow = await WithManagerAsync(m => m.GetUnitStateAsync(UnitOf(request.Id), ct), ct).ConfigureAwait(false);
        if (unitNow.ActiveState is UnitActiveState.Inactive or UnitActiveState.Failed)
        {
            if (_vms.TryRemove(request.Id, out var old)) old.StopFollowing();
        }
        else await StopAsync(request.Id, ct).ConfigureAwait(false);
        VmRecord.Write(_runDir, request);
        var vm = new UnitVm(this, request);
        _vms[request.Id] = vm;
        await vm.StartAsync(ct).ConfigureAwait(false);
        vm.Follow();
        return vm.State;
    }

    public async Task StopAsync(string id, CancellationToken ct)
    {
        if (_vms.TryRemove(id, out var vm)) vm.StopFollowing();
        var manager = await ManagerAsync(ct).ConfigureAwait(false);
        string unit = UnitOf(id);
        try
        {
            var outcome = await manager.StopUnitAsync(unit, ct).ConfigureAwait(false);
            if (!outcome.Succeeded) throw new TransientReconcileException($"stopping the VM of pod {id}: {outcome}");
            // Its failure (if it failed) and its start-limit counter go with it; a unit that is not loaded has neither.
            try { await manager.ResetFailedUnitAsync(unit, ct).ConfigureAwait(false); }
            catch (SystemdException) { }
        }
        catch (SystemdException e) { throw Unreachable(manager, e); }
    }

    public VmState? Get(string id) => _vms.TryGetValue(id, out var vm) ? vm.State : null;

    public IReadOnlyList<VmState> List() => _vms.Values.Select(v => v.State).ToList();

    /// <summary>Adopts every loaded kraud-vm@ unit this backend does not follow yet (running, starting or failed: a failed
    /// one's pod is started again by its reconcile), with the request in its `vm.json`.</summary>
    public async Task<IReadOnlyList<VmState>> AdoptAsync(CancellationToken ct)
    {
        var manager = await ManagerAsync(ct).ConfigureAwait(false);
        var adopted = new List<VmState>();
        IReadOnlyList<UnitListing> units;
        try { units = await manager.ListUnitsByPatternsAsync([UnitPattern], ct).ConfigureAwait(false); }
        catch (SystemdException e) { throw Unreachable(manager, e); }
        foreach (var listing in units)
        {
            if (IdOf(listing.Name) is not { } id || listing.ActiveState == UnitActiveState.Inactive || _vms.ContainsKey(id)) continue;
            var request = VmRecord.Read(_runDir, id)?.Request(id)
                ?? new VmStartRequest(id, Path.Combine(_runDir, id, "launch.json"), Path.Combine(_runDir, id, "serial.log"), "never", "");
            var vm = new UnitVm(this, request);
            UnitState state;
            try { state = await manager.GetUnitStateAsync(listing.Name, ct).ConfigureAwait(false); }
            catch (SystemdException e) { throw Unreachable(manager, e); }
            vm.Observe(state, initial: true);
            if (!_vms.TryAdd(id, vm)) continue;
            vm.Follow();
            _log.LogInformation("adopted {Unit}: {State}", listing.Name, state);
            adopted.Add(vm.State);
        }
        return adopted;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var vm in _vms.Values) vm.StopFollowing();
        _vms.Clear();
        _manager?.Dispose();
        _manager = null;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private async Task<SystemdManager> ManagerAsync(CancellationToken ct)
    {
        if (_manager is { } m) return m;
        await _connecting.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            try { return _manager ??= await _connect(ct).ConfigureAwait(false); }
            catch (SystemdException e) { throw new TransientReconcileException($"VMs run as systemd units here, and {e.Message}"); }
        }
        finally { _connecting.Release(); }
    }

    /// <summary>One call to systemd on this backend's connection; a failure is transient, and a lost connection is connected again next time.</summary>
    internal async Task<T> WithManagerAsync<T>(Func<SystemdManager, Task<T>> call, CancellationToken ct)
    {
        var manager = await ManagerAsync(ct).ConfigureAwait(false);
        try { return await call(manager).ConfigureAwait(false); }
        catch (SystemdException e) { throw Unreachable(manager, e); }
    }

    /// <summary>A call failed: when the connection is gone it is dropped, so the next call connects again.</summary>
    private TransientReconcileException Unreachable(SystemdManager manager, SystemdException e)
    {
        if (e.ErrorName is null) Interlocked.CompareExchange(ref _manager, null, manager)?.Dispose();
        return new TransientReconcileException($"systemd: {e.Message}");
    }

    private void RaiseChanged(VmState state)
    {
        try { Changed?.Invoke(state); }
        catch (Exception e) { _log.LogWarning("a VM state listener failed: {Error}", e.Message); }
    }

    /// <summary>One VM's unit: its last state as systemd reported it, the exits seen, and the restart policy.</summary>
    private sealed class UnitVm(SystemdVmSupervisor owner, VmStartRequest request)
    {
        private readonly string _unit = UnitOf(request.Id);
        private readonly CancellationTokenSource _stop = new();
        private readonly object _lock = new();
        private UnitState? _state;
        private bool _up;
        private int _restarts;
        private VmExit? _lastExit;
        private bool _restarting;
        private TimeSpan _delay = TimeSpan.FromMilliseconds(100);

        public VmState State
        {
            get
            {
                lock (_lock)
                {
                    bool running = _state is { ActiveState: UnitActiveState.Active };
                    return new VmState(request.Id, _unit, _state is { MainPid: > 0 } s ? s.MainPid : null, running,
                        running ? _state!.ActiveEnterTimestamp : null, _restarts, _lastExit, request.LaunchHash);
                }
            }
        }

        /// <summary>Starts the unit and waits for its job: done once READY=1 came, failed when the VMM exited before.</summary>
        public async Task StartAsync(CancellationToken ct)
        {
            var manager = await owner.ManagerAsync(ct).ConfigureAwait(false);
            try
            {
                // A failed unit of an earlier start keeps its start-limit counter: reset it, or restarts soon hit the limit.
                try { await manager.ResetFailedUnitAsync(_unit, ct).ConfigureAwait(false); }
                catch (SystemdException e) when (e.ErrorName is not null) { }
                var job = await manager.StartUnitAsync(_unit, ct).ConfigureAwait(false);
                var state = await manager.GetUnitStateAsync(_unit, ct).ConfigureAwait(false);
                owner._log.LogInformation("{Outcome}: {State}", job, state);
                Observe(state, initial: false, startJob: true);
            }
            catch (SystemdException e) { throw owner.Unreachable(manager, e); }
        }

        /// <summary>Follows the unit's state by signals until stopped; a lost connection is connected again.</summary>
        public void Follow() => _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                SystemdManager? manager = null;
                try
                {
                    manager = await owner.ManagerAsync(_stop.Token).ConfigureAwait(false);
                    await foreach (var state in manager.WatchUnitAsync(_unit, _stop.Token).ConfigureAwait(false)) Observe(state, initial: false);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested) { return; }
                catch (Exception e)
                {
                    owner._log.LogWarning("following {Unit}: {Error}; again in 1 s", _unit, e.Message);
                    if (manager is not null && e is SystemdException s) owner.Unreachable(manager, s);
                    try { await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { return; }
                }
            }
        });

        public void StopFollowing() => _stop.Cancel();

        /// <summary>
        /// Takes a state systemd reported. Going down (active or activating → failed or inactive) is an exit: recorded,
        /// reported, and the restart policy applies. Coming up after a restart is reported too.
        /// </summary>
        public void Observe(UnitState state, bool initial, bool startJob = false)
        {
            bool changed = false, exited = false;
            lock (_lock)
            {
                var before = _state;
                _state = state;
                bool up = state.ActiveState is UnitActiveState.Active or UnitActiveState.Activating or UnitActiveState.Reloading;
                if (initial) { _up = up; return; }
                if (state.ActiveState is UnitActiveState.Failed or UnitActiveState.Inactive && (_up || startJob))
                {
                    _lastExit = new VmExit(CodeOf(state), DateTimeOffset.UtcNow, ChildProcessVmSupervisor.SerialTail(request.SerialLog));
                    exited = !startJob;
                    changed = true;
                }
                else if (state.ActiveState == UnitActiveState.Active && before?.ActiveState != UnitActiveState.Active && !startJob) changed = true;
                _up = up;
            }
            if (_stop.IsCancellationRequested) return;
            if (changed && !startJob) owner.RaiseChanged(State);
            if (exited) Restart(state);
        }

        /// <summary>Exit code as the child backend reports it: the status, or 128 + the signal that killed the VMM.</summary>
        private static int CodeOf(UnitState s) => s.ExecMainCode switch
        {
            MainProcessExit.Exited => s.ExecMainStatus,
            MainProcessExit.Killed or MainProcessExit.Dumped => 128 + s.ExecMainStatus,
            _ => -1,
        };

        private void Restart(UnitState state)
        {
            if (!WantsRestart(state)) return;
            lock (_lock)
            {
                if (_restarting) return;
                _restarting = true;
                if (state.ActiveEnterTimestamp is { } t && DateTimeOffset.UtcNow - t > TimeSpan.FromSeconds(10)) _delay = TimeSpan.FromMilliseconds(100);
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await Task.Delay(_delay, _stop.Token).ConfigureAwait(false);
                        _delay = TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                        lock (_lock) _restarts++;
                        await StartAsync(_stop.Token).ConfigureAwait(false);
                        owner.RaiseChanged(State);
                        if (State.Running || !WantsRestart(_state!)) return;
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
                catch (Exception e) { owner._log.LogError("restarting the VM of pod {Id} failed: {Error}", request.Id, e.Message); }
                finally { lock (_lock) _restarting = false; }
            });
        }

        private bool WantsRestart(UnitState state)
        {
            int code = CodeOf(state);
            bool again = request.Restart switch { "always" => true, "on-failure" => code != 0, _ => false } && code != 65;
            owner._log.LogWarning("VM of pod {Id} exited with {Code} ({Result}){Then}", request.Id, code, state.Result, again ? ", restarting" : "");
            return again && !_stop.IsCancellationRequested;
        }
    }
}
