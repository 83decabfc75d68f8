namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// Runs the virtiofsd of each of a pod's shares: started before the pod's VM (its launch file names their sockets),
/// stopped after it. A child process of the agent (<see cref="ChildProcessShareDaemons"/>), or under systemd
/// `kraud-virtiofsd@.service` pulled in by the VM's unit (systemd/kraud-virtiofsd@.service says how).
/// </summary>
public interface IShareDaemons
{
    /// <summary>
    /// Stops what runs for pod <paramref name="id"/> and starts one fresh daemon per share, each kept running (a
    /// daemon exits when its VM disconnects, e.g. on a VM restart, and is started again); returns once every
    /// share's socket is there. Throws a transient failure naming the share when one is not within its time.
    /// </summary>
    Task StartAsync(string id, string podDir, IReadOnlyList<PodShare> shares, CancellationToken ct);

    /// <summary>Stops the pod's daemons (also ones left by an agent that died) and removes their read-only views.</summary>
    Task StopAsync(string id, string podDir, CancellationToken ct);

    /// <summary>Process ids of the pod's running daemons, by share tag (for status and tests).</summary>
    IReadOnlyDictionary<string, int> Running(string id);

    /// <summary>
    /// Brings what <see cref="Running"/> says up to date before a status is written: a backend whose daemons outlive the
    /// agent (systemd units) reads them again, as a new agent or a daemon's restart changed them. Nothing to do by default.
    /// </summary>
    Task RefreshAsync(string id, string podDir, IReadOnlyList<PodShare> shares, CancellationToken ct) => Task.CompletedTask;
}
