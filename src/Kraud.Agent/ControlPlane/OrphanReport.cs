using Kraud.Agent.Kinds;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Orphans for the host record (contract section 3.3): this host's resources whose desired state is gone from
/// KRAUD_DESIRED, found by the <paramref name="sources"/> (the state-dir records and what is on the host itself, so
/// a wiped state dir still reports the datasets and interfaces left behind), each resource once. They are reported
/// as "Kind/id", never deleted: what to do is the control plane's call. Checked at the first heartbeat and then at
/// most once a minute (one direct get per resource). A source that fails is logged once per check and adds nothing.
/// </summary>
public sealed class OrphanReport(StreamMessageReader desired, IReadOnlyList<IResourceInventory> sources, TimeProvider clock, ILogger<OrphanReport> logger) : IHostReport
{
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private readonly RefreshedValue<List<string>> _orphans = new(Refresh, clock, [], retryAtOnce: true);

    public async Task ContributeAsync(HostReportBuilder report, CancellationToken ct) =>
        report.Orphans.AddRange(await _orphans.GetAsync(CheckAsync, ct));

    private async Task<List<string>> CheckAsync(CancellationToken ct)
    {
        var found = new List<string>();
        foreach (var key in await ListAllAsync(ct))
            if (await desired.GetLastAsync(key.DesiredSubject, ct) is null)
                found.Add(key.ToString());
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    private async Task<HashSet<ResourceKey>> ListAllAsync(CancellationToken ct)
    {
        var keys = new HashSet<ResourceKey>();
        foreach (var source in sources)
        {
            try
            {
                // An id no subject can carry is not one the agent made; it would only break the direct get.
                keys.UnionWith((await source.ListAsync(ct)).Where(k => ResourceKey.IdRule().IsMatch(k.Id)));
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                logger.LogWarning("orphan check: {Source} could not be listed, left out until the next check: {Error}", source.Name, e.Message);
            }
        }
        return keys;
    }
}
