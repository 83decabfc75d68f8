using Kraud.Agent.Kinds;
using Kraud.Zfs;

namespace Kraud.Agent.Host;

/// <summary>
/// The host record's resources.pools: every imported ZFS pool with its size and free bytes (`zpool list -Hp`).
/// A listing costs a process start and the heartbeat comes every 10 s, so one listing serves
/// <see cref="Refresh"/>. Without ZFS on the host the list is empty and no command runs. A failed listing
/// reports no pools until the next refresh and throws, so the heartbeat logs it (at most once per refresh).
/// </summary>
public sealed class PoolReport(ZfsCli cli, Func<bool> zfsPresent, TimeProvider clock) : IHostReport
{
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);
    private readonly RefreshedValue<IReadOnlyList<PoolResource>> _pools = new(Refresh, clock, [], retryAtOnce: false);

    public async Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        try
        {
            await _pools.GetAsync(ListAsync, ct);
        }
        finally
        {
            report.Pools.AddRange(_pools.Value);
        }
    }

    private async Task<IReadOnlyList<PoolResource>> ListAsync(CancellationToken ct)
    {
        if (!zfsPresent()) return [];
        var space = await cli.PoolSpaceAsync(ct);
        return space.Select(p => new PoolResource(p.Name, ToLong(p.Size), ToLong(p.Free))).ToList();
    }

    private static long ToLong(ulong bytes) => bytes > long.MaxValue ? long.MaxValue : (long)bytes;
}
