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
    private readonly SemaphoreSlim _listing = new(1, 1);
    private IReadOnlyList<PoolResource> _pools = [];
    private DateTimeOffset _listedAt = DateTimeOffset.MinValue;

    public async Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        await _listing.WaitAsync(ct);
        try
        {
            if (clock.GetUtcNow() - _listedAt >= Refresh) await ListAsync(ct);
        }
        finally
        {
            _listing.Release();
            report.Pools.AddRange(_pools);
        }
    }

    private async Task ListAsync(CancellationToken ct)
    {
        _pools = [];
        _listedAt = clock.GetUtcNow();
        if (!zfsPresent()) return;
        var space = await cli.PoolSpaceAsync(ct);
        _pools = space.Select(p => new PoolResource(p.Name, ToLong(p.Size), ToLong(p.Free))).ToList();
    }

    private static long ToLong(ulong bytes) => bytes > long.MaxValue ? long.MaxValue : (long)bytes;
}
