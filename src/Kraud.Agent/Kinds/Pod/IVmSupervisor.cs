namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// Runs the pods' VMs, one kraud-vmm per pod, whatever runs them: a child process of the agent (dev mode, tests:
/// <see cref="ChildProcessVmSupervisor"/>) or systemd's `kraud-vm@&lt;id&gt;.service` through D-Bus (a backend of its own,
/// <see cref="SystemdVmSupervisor"/>). Each backend applies the restart policy itself, and neither stops a VM when the
/// agent stops: a new agent adopts the VMs that are running (<see cref="AdoptAsync"/>).
/// </summary>
public interface IVmSupervisor
{
    /// <summary>
    /// Starts the VM of <paramref name="request"/> (stopping one of the same id first) and returns once its VMM
    /// reported the guest running (READY=1), or the VMM exited before that (<see cref="VmState.Running"/> false,
    /// <see cref="VmState.LastExit"/> set).
    /// </summary>
    Task<VmState> StartAsync(VmStartRequest request, CancellationToken ct);

    /// <summary>
    /// Takes over the VMs this host runs that the backend does not know yet (left by an earlier agent): from then on they
    /// are listed, followed and stopped like the ones started here. Called once before the first reconcile; returns them.
    /// </summary>
    Task<IReadOnlyList<VmState>> AdoptAsync(CancellationToken ct);

    /// <summary>Stops the VM (SIGTERM, then SIGKILL after a grace) and forgets it; one that is not there is fine.</summary>
    Task StopAsync(string id, CancellationToken ct);

    /// <summary>What the backend knows of VM <paramref name="id"/>, null when it runs none.</summary>
    VmState? Get(string id);

    /// <summary>Every VM the backend runs or restarts.</summary>
    IReadOnlyList<VmState> List();

    /// <summary>Raised when a VM's state changes outside a start or stop: its VMM exited, or a restart reported the guest running.</summary>
    event Action<VmState>? Changed;
}

/// <param name="Restart">always, on-failure or never: what happens when the VMM exits on its own.</param>
/// <param name="LaunchHash">Identifies the launch the VM runs, so an update restarts it only when the launch changed.</param>
public sealed record VmStartRequest(string Id, string LaunchFile, string SerialLog, string Restart, string LaunchHash);

/// <param name="Unit">The systemd unit (systemd backend), null for a child process.</param>
public sealed record VmState(string Id, string? Unit, int? Pid, bool Running, DateTimeOffset? StartedAt, int Restarts, VmExit? LastExit, string LaunchHash);

/// <summary>How the VMM ended: its exit code (128 + signal when killed) and the last lines of its serial log.</summary>
public sealed record VmExit(int Code, DateTimeOffset At, IReadOnlyList<string> SerialTail);
