namespace Kraud.Agent.Host;

/// <summary>
/// Whether ZFS is usable on this host, for the parts that must not run a zfs command without it (the pool report, the
/// dataset inventory, the storage service): one probe shared by all of them. A host with ZFS keeps it; a host without
/// is probed again at most every <see cref="Recheck"/>, so a module loaded after the agent started is found.
/// </summary>
public sealed class ZfsPresence(TimeProvider clock, Func<ProbeResult> probe)
{
    public static readonly TimeSpan Recheck = TimeSpan.FromSeconds(30);
    private readonly Lock _gate = new();
    private ProbeResult? _last;
    private DateTimeOffset _probedAt;

    public ZfsPresence(TimeProvider clock) : this(clock, () => new HostProbes().Zfs()) { }

    public ProbeResult Current
    {
        get
        {
            lock (_gate)
            {
                if (_last is not { Ok: true } && (_last is null || clock.GetUtcNow() - _probedAt >= Recheck))
                {
                    _last = probe();
                    _probedAt = clock.GetUtcNow();
                }
                return _last;
            }
        }
    }

    public bool Ok => Current.Ok;
}
