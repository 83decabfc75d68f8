using System.Globalization;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Volume;
using Kraud.Zfs;

namespace Kraud.Agent.Kinds.Snapshot;

/// <summary>
/// Snapshot reconciler (contract §7): `<pool>/kraud/<volume>@user-<name>`, tagged with kraud:host/id/generation.
/// The user- prefix keeps these apart from the schedule's auto- snapshots, which the pruner alone may destroy.
/// </summary>
public sealed class SnapshotReconciler(ZfsApi zfs, VolumeReconciler volumes) : IReconciler
{
    private const string Prefix = VolumeDatasets.UserSnapshotPrefix;

    public string Kind => ResourceKinds.Snapshot;

    /// <summary>The work engine's entry. A delete may come without a spec (never applied here, or the state directory lost): found by kraud:id.</summary>
    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        if (envelope.Deleted)
            return await DeleteAsync(envelope.Id, envelope.ReadSpecIfAny(SnapshotJsonContext.Default.SnapshotSpec), ct).ConfigureAwait(false);
        return await ReconcileAsync(envelope.Id, envelope.Generation, context.Host, envelope.ReadSpec(SnapshotJsonContext.Default.SnapshotSpec), ct).ConfigureAwait(false);
    }

    public async Task<JsonObject> ReconcileAsync(string id, long generation, string hostId, SnapshotSpec spec, CancellationToken ct = default)
    {
        VolumeSpecValidator.ValidateId(id);
        spec.Validate();
        string ds = await volumes.FindAsync(spec.Volume!, null, ct).ConfigureAwait(false)
            // Transient: the Volume may simply not be reconciled yet.
            ?? throw new ZfsException("snapshot", spec.Volume!, ZfsProblem.NotFound, Kraud.Libc.Errno.ENOENT, "volume not found on any pool of this host");
        // Only the agent's volume (kraud:id = the volume, kraud:host = this host) gets the agent's snapshots.
        await volumes.CheckOwnedAsync(ds, spec.Volume!, hostId, ct).ConfigureAwait(false);
        string snap = $"{ds}@{Prefix}{spec.Name}";
        if (!zfs.Exists(snap))
        {
            zfs.Snapshot([snap], VolumeDatasets.Marks(hostId, id, generation));
        }
        var p = await zfs.Cli.GetAsync(snap, ["creation", "createtxg", "referenced", "userrefs", VolumeDatasets.IdProperty], ct).ConfigureAwait(false);
        CheckOwned(snap, VolumeReconciler.MarkOf(p[VolumeDatasets.IdProperty]), id);
        return new JsonObject
        {
            ["snapshot"] = snap,
            ["dataset"] = ds,
            ["createdAt"] = DateTimeOffset.FromUnixTimeSeconds(long.Parse(p["creation"].Value, CultureInfo.InvariantCulture)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["createTxg"] = long.Parse(p["createtxg"].Value, CultureInfo.InvariantCulture),
            ["referencedBytes"] = long.Parse(p["referenced"].Value, CultureInfo.InvariantCulture),
            ["holds"] = int.Parse(p["userrefs"].Value, CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// Destroys the snapshot; gone already is success; a held one fails (transient) until released. Without a spec
    /// (never applied here, or the state directory lost) it destroys the user snapshots tagged kraud:id = id on any pool.
    /// </summary>
    public async Task<JsonObject> DeleteAsync(string id, SnapshotSpec? spec, CancellationToken ct = default)
    {
        VolumeSpecValidator.ValidateId(id);
        if (spec is null) return await DeleteByIdAsync(id, ct).ConfigureAwait(false);
        spec.Validate();
        string? ds = await volumes.FindAsync(spec.Volume!, null, ct).ConfigureAwait(false);
        string? snap = ds is null ? null : $"{ds}@{Prefix}{spec.Name}";
        if (snap is not null && zfs.Exists(snap))
        {
            var p = await zfs.Cli.GetAsync(snap, ["userrefs", VolumeDatasets.IdProperty], ct).ConfigureAwait(false);
            CheckOwned(snap, VolumeReconciler.MarkOf(p[VolumeDatasets.IdProperty]), id);
            if (p["userrefs"].Value != "0")
                throw new ZfsException("destroy", snap, ZfsProblem.Busy, Kraud.Libc.Errno.EBUSY, "the snapshot is held");
            zfs.DestroySnapshots([snap]);
        }
        return new JsonObject { ["snapshot"] = snap, ["deleted"] = true };
    }

    /// <summary>A snapshot of the resource's name without its kraud:id is someone else's: neither adopted nor destroyed.</summary>
    private static void CheckOwned(string snap, string owner, string id)
    {
        if (owner != id)
            throw new ForeignObjectException(owner == "-"
                ? $"snapshot {snap} exists and is not kraud's (no kraud:id={id}); left untouched"
                : $"snapshot {snap} exists and is not kraud's (kraud:id is '{owner}', not '{id}'); left untouched", "spec.name");
    }

    private async Task<JsonObject> DeleteByIdAsync(string id, CancellationToken ct)
    {
        var tagged = await ListTaggedAsync(id, ct).ConfigureAwait(false);
        if (tagged.FirstOrDefault(t => t.UserRefs != "0") is { Name: not null } held)
            throw new ZfsException("destroy", held.Name, ZfsProblem.Busy, Kraud.Libc.Errno.EBUSY, "the snapshot is held");
        if (tagged.Count > 0) zfs.DestroySnapshots(tagged.Select(t => t.Name).ToList());
        if ((await FindByIdAsync(id, ct).ConfigureAwait(false)).FirstOrDefault() is { } left)
            throw new ZfsException("destroy", left, ZfsProblem.Busy, Kraud.Libc.Errno.EBUSY, "the snapshot is still there after its destroy");
        return new JsonObject { ["snapshot"] = tagged.Select(t => t.Name).FirstOrDefault(), ["deleted"] = true };
    }

    /// <summary>The user snapshots under every pool's `kraud` dataset whose kraud:id is <paramref name="id"/>.</summary>
    public async Task<List<string>> FindByIdAsync(string id, CancellationToken ct = default) =>
        (await ListTaggedAsync(id, ct).ConfigureAwait(false)).Select(t => t.Name).ToList();

    /// <summary>One `zfs list` over all pools: the tagged user snapshots under &lt;pool&gt;/kraud/ with their hold counts.</summary>
    private async Task<List<(string Name, string UserRefs)>> ListTaggedAsync(string id, CancellationToken ct)
    {
        var rows = await zfs.Cli.ListAsync(null, "snapshot", ["name", VolumeDatasets.IdProperty, "userrefs"], ct: ct).ConfigureAwait(false);
        var candidates = rows
            .Where(r => r[1] == id && r[0].Contains("@" + Prefix, StringComparison.Ordinal) && VolumeDatasets.IdOf(r[0]) is not null)
            .Select(r => (r[0], r[2]))
            .ToList();
        // A snapshot shows its dataset's kraud:id as inherited: only one set on the snapshot itself marks it as this
        // resource's (a Volume and a Snapshot may share an id). Rarely more than one candidate, so one get each.
        var tagged = new List<(string Name, string UserRefs)>();
        foreach (var c in candidates)
            if (VolumeReconciler.MarkOf((await zfs.Cli.GetAsync(c.Item1, [VolumeDatasets.IdProperty], ct).ConfigureAwait(false))[VolumeDatasets.IdProperty]) == id)
                tagged.Add(c);
        return tagged;
    }

}
