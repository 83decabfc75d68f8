using Kraud.Zfs;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// The Volumes whose dataset is on the host: every <c>&lt;pool&gt;/kraud/&lt;id&gt;</c> whose <c>kraud:host</c> is this
/// host (the Volume reconciler sets it), over all pools in one <c>zfs list</c>. Without ZFS on the host it lists
/// nothing and runs no command; a failed listing throws.
/// </summary>
public sealed class VolumeDatasetInventory(ZfsCli cli, Func<bool> zfsPresent, string host) : IResourceInventory
{
    public string Name => "ZFS datasets";

    public async Task<IReadOnlyList<ResourceKey>> ListAsync(CancellationToken ct)
    {
        if (!zfsPresent()) return [];
        var rows = await cli.ListAsync(null, "filesystem,volume", ["name", VolumeDatasets.HostProperty], ct: ct);
        var keys = new List<ResourceKey>();
        foreach (var row in rows)
        {
            if (VolumeDatasets.IdOf(row[0]) is { } id && row[1] == host)
                keys.Add(new ResourceKey(host, ResourceKinds.SubjectToken(ResourceKinds.Volume), id));
        }
        return keys;
    }
}
