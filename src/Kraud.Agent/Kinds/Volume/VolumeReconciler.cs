using System.Globalization;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Zfs;
using Kraud.Zfs.Names;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;
using Kraud.Zfs.Send;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// Volume reconciler (contract §7): makes `<pool>/kraud/<id>` what the spec says and reports what the host has.
/// Idempotent: a second run with the same spec sets nothing (it compares before it writes). A dataset it
/// created in a failed run is destroyed again before the error leaves, so nothing half-made stays behind.
/// </summary>
public sealed class VolumeReconciler(ZfsApi zfs, NfsExports exports, Func<string, bool>? usedByPod = null) : IReconciler
{
    public string Kind => ResourceKinds.Volume;

    /// <summary>The work engine's entry. A delete's spec is optional: without one the volume is found on whichever pool has it.</summary>
    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        var spec = envelope.ReadSpecIfAny(VolumeJsonContext.Default.VolumeSpec);
        if (envelope.Deleted) return await DeleteAsync(envelope.Id, context.Host, spec, ct).ConfigureAwait(false);
        // A handover's final send reports its bytes in the Progressing status.
        IProgress<TransferProgress>? progress = context.Progress is { } p
            ? new Progress<TransferProgress>(t => p.Report(new JsonObject { ["handover"] = new JsonObject { ["bytes"] = t.Bytes, ["estimatedBytes"] = t.EstimatedBytes } }))
            : null;
        return await ReconcileAsync(envelope.Id, envelope.Generation, context.Host,
            spec ?? throw PermanentReconcileException.At("spec", "required"), progress, ct).ConfigureAwait(false);
    }

    /// <summary>Native properties that cannot be inherited: removing them from the spec sets them to "none" instead.</summary>
    private static readonly HashSet<string> ClearedWithNone = new(StringComparer.Ordinal) { "quota", "reservation", "filesystem_limit", "snapshot_limit" };

    /// <summary>
    /// Called after every reconcile and delete, failed ones too (a failed run may have changed properties): the
    /// daemon points it at the snapshot timer's Invalidate, so a new or changed schedule is seen on the next pass.
    /// </summary>
    public Action? Changed { get; init; }

    /// <summary>The replication part (replica datasets, the schedule's sources); without it a spec with replication fails.</summary>
    public ReplicaVolume? Replication { get; init; }

    public async Task<JsonObject> ReconcileAsync(string id, long generation, string hostId, VolumeSpec spec,
        IProgress<TransferProgress>? progress = null, CancellationToken ct = default)
    {
        try { return await ReconcileCoreAsync(id, generation, hostId, spec, progress, ct).ConfigureAwait(false); }
        catch (ForeignExportsFileException e) { throw new ForeignObjectException(e.Message); }
        finally { Changed?.Invoke(); }
    }

    private async Task<JsonObject> ReconcileCoreAsync(string id, long generation, string hostId, VolumeSpec spec,
        IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        VolumeSpecValidator.ValidateId(id);
        VolumeSpecValidator.Validate(spec, hostId);
        string pool = spec.Pool!;
        if (!await zfs.Cli.PoolExistsAsync(pool, ct).ConfigureAwait(false))
            throw new PermanentReconcileException($"spec.pool: pool '{pool}' does not exist on this host", "spec.pool");
        string ds = VolumeDatasets.Name(pool, id);
        progress?.Report(new TransferProgress(0, 0));
        if (spec.Replication is not null && Replication is null)
            throw new PermanentReconcileException("spec.replication: this agent has no replication configured (config replication: certFile, keyFile, caFile)", "spec.replication");
        if (Replication is not null && await Replication.HandoverAsync(id, generation, hostId, spec, ds, progress, () => ObserveAsync(id, ds, ct), ct).ConfigureAwait(false) is { } handedOver)
            return handedOver;
        if (spec.IsReplica)
            return await Replication!.ReconcileReplicaAsync(id, generation, hostId, spec, ds, () => ObserveAsync(id, ds, ct), ct).ConfigureAwait(false);
        if (Replication is not null && zfs.Exists(ds))
        {
            await CheckOwnedAsync(ds, id, hostId, ct).ConfigureAwait(false);
            await Replication.PromoteIfReplicaAsync(ds, ct).ConfigureAwait(false);
        }

        bool created = false;
        try
        {
            if (!zfs.Exists(ds))
            {
                zfs.EnsureParents(ds);
                var owner = VolumeDatasets.Marks(hostId, id, generation);
                if (spec.IsNfs) zfs.CreateFilesystem(ds, (ulong)spec.SizeBytes, owner);
                else zfs.CreateVolume(ds, (ulong)spec.SizeBytes, owner, thick: true);
                created = true;
            }
            await ConvergeAsync(id, generation, hostId, spec, ds, ct).ConfigureAwait(false);
        }
        catch (Exception) when (created)
        {
            await DestroyQuietlyAsync(id, ds).ConfigureAwait(false);
            throw;
        }
        Replication?.Applied(id, generation, spec);
        var observed = await ObserveAsync(id, ds, ct).ConfigureAwait(false);
        Replication?.AddSourceStatus(id, spec, observed);
        return observed;
    }

    private async Task ConvergeAsync(string id, long generation, string hostId, VolumeSpec spec, string ds, CancellationToken ct)
    {
        var want = VolumeDatasets.Marks(hostId, id, generation);
        string size = spec.SizeBytes.ToString(CultureInfo.InvariantCulture);
        if (spec.IsNfs) want["refquota"] = size;
        else { want["volsize"] = size; want["refreservation"] = size; }
        if (spec.Properties is not null) foreach (var (k, v) in spec.Properties) want[k] = v;
        var managed = (spec.Properties?.Keys.AsEnumerable() ?? []).Order(StringComparer.Ordinal).ToList();
        if (managed.Count > 0) want[VolumeDatasets.ManagedProperty] = string.Join(',', managed);
        var schedule = ScheduleOf(spec);
        if (schedule.Rules.Count > 0) want[SnapshotSchedule.Property] = schedule.ToProperty();

        var names = want.Keys.Concat([VolumeDatasets.HostProperty, VolumeDatasets.IdProperty, "type", "mounted", "mountpoint", SnapshotSchedule.Property, VolumeDatasets.RestoreProperty, VolumeDatasets.ManagedProperty]).Distinct().ToList();
        var have = await zfs.Cli.GetAsync(ds, names, ct).ConfigureAwait(false);

        CheckOwned(ds, have, id, hostId);
        string type = have["type"].Value;
        if (type != (spec.IsNfs ? "filesystem" : "volume"))
            throw new PermanentReconcileException($"spec.class: {ds} is a {type}; changing the class of a volume is not supported", "spec.class");
        if (!spec.IsNfs && have.TryGetValue("volsize", out var vs) && long.TryParse(vs.Value, out long cur) && spec.SizeBytes < cur)
            throw new PermanentReconcileException($"spec.sizeBytes: shrinking zvol {ds} from {cur} to {spec.SizeBytes} bytes would destroy data; refused", "spec.sizeBytes");

        await ResetRemovedPropertiesAsync(ds, have, managed, ct).ConfigureAwait(false);

        var changes = want.Where(kv => !have.TryGetValue(kv.Key, out var p) || p.Value != kv.Value).ToDictionary(kv => kv.Key, kv => kv.Value);
        // A zvol grows before its reservation does, and a reservation shrinks before its zvol: keep set order so.
        if (changes.Remove("volsize", out var newSize))
            await zfs.Cli.SetAsync(ds, new Dictionary<string, string> { ["volsize"] = newSize }, ct).ConfigureAwait(false);
        try
        {
            await zfs.Cli.SetAsync(ds, changes, ct).ConfigureAwait(false);
        }
        catch (ZfsException e) when (e.Problem == ZfsProblem.InvalidArgument)
        {
            throw new PermanentReconcileException($"spec.properties: {e.Message}", "spec.properties", e);
        }
        if (schedule.Rules.Count == 0 && have.TryGetValue(SnapshotSchedule.Property, out var sp) && sp.Source == "local")
            await zfs.Cli.InheritAsync(ds, SnapshotSchedule.Property, ct).ConfigureAwait(false);
        if (managed.Count == 0 && have.TryGetValue(VolumeDatasets.ManagedProperty, out var mp) && mp.Source == "local")
            await zfs.Cli.InheritAsync(ds, VolumeDatasets.ManagedProperty, ct).ConfigureAwait(false);

        if (spec.IsNfs && have["mounted"].Value != "yes") await zfs.Cli.MountAsync(ds, ct).ConfigureAwait(false);

        if (spec.Restore is { } restore && (!have.TryGetValue(VolumeDatasets.RestoreProperty, out var last) || last.Value != restore.RequestId))
        {
            string snap = await ResolveSnapshotAsync(ds, restore.Snapshot!, ct).ConfigureAwait(false);
            await zfs.RollbackAsync(snap, ct).ConfigureAwait(false);
            await zfs.Cli.SetAsync(ds, new Dictionary<string, string> { [VolumeDatasets.RestoreProperty] = restore.RequestId! }, ct).ConfigureAwait(false);
        }

        var clients = (spec.Nfs?.Clients ?? []).Select(c => new NfsClient(c.Match!, NormalizeOptions(c.Options))).ToList();
        if (spec.IsNfs && clients.Count > 0)
        {
            string mountpoint = (await zfs.Cli.GetAsync(ds, ["mountpoint"], ct).ConfigureAwait(false))["mountpoint"].Value;
            if (!mountpoint.StartsWith('/'))
                throw new PermanentReconcileException($"spec.nfs: {ds} has mountpoint '{mountpoint}' and cannot be exported", "spec.nfs");
            await exports.SetAsync(new NfsExport(id, mountpoint, NfsExport.FsidFor(id), clients), ct).ConfigureAwait(false);
        }
        else
        {
            await exports.RemoveAsync(id, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The mark of volume <paramref name="id"/> on this host: kraud:id = id and kraud:host = <paramref name="hostId"/>,
    /// both set when the agent creates the dataset. A dataset without it is someone else's (made by hand, another
    /// resource's, another host's): the agent neither changes nor destroys it, and says so (permanent).
    /// </summary>
    public static void CheckOwned(string ds, IReadOnlyDictionary<string, ZfsProperty> have, string id, string hostId)
    {
        string owner = MarkOf(have.GetValueOrDefault(VolumeDatasets.IdProperty));
        if (owner != id)
            throw new ForeignObjectException(owner == "-"
                ? $"dataset {ds} exists and is not kraud's (no kraud:id={id}); left untouched"
                : $"dataset {ds} exists and is not kraud's (kraud:id is '{owner}', not '{id}'); left untouched", "id");
        string host = MarkOf(have.GetValueOrDefault(VolumeDatasets.HostProperty));
        if (host != hostId)
            throw new ForeignObjectException(host == "-"
                ? $"dataset {ds} exists and is not kraud's on this host (no kraud:host={hostId}); left untouched"
                : $"dataset {ds} exists and is not kraud's on this host (kraud:host is '{host}', not '{hostId}'); left untouched", "id");
    }

    /// <summary>
    /// A kraud:* property's value when it is set on the dataset or snapshot itself, else "-": user properties inherit
    /// (a snapshot shows its dataset's kraud:id, a child its parent's), and an inherited value marks nothing.
    /// </summary>
    public static string MarkOf(ZfsProperty? p) => p is { Source: "local" or "received" } ? p.Value : "-";

    /// <summary><see cref="CheckOwned(string, IReadOnlyDictionary{string, ZfsProperty}, string, string)"/>, reading the two properties.</summary>
    public async Task CheckOwnedAsync(string ds, string id, string hostId, CancellationToken ct) =>
        CheckOwned(ds, await zfs.Cli.GetAsync(ds, [VolumeDatasets.IdProperty, VolumeDatasets.HostProperty], ct).ConfigureAwait(false), id, hostId);

    /// <summary>
    /// Puts back what the agent set earlier and the spec no longer lists: the names in <see cref="VolumeDatasets.ManagedProperty"/>
    /// (written with the properties, in the same `zfs set`) minus the spec's. Only a locally set value is reset, and
    /// only names the agent recorded, so a property an operator set by hand is never touched.
    /// </summary>
    private async Task ResetRemovedPropertiesAsync(string ds, IReadOnlyDictionary<string, ZfsProperty> have, List<string> managed, CancellationToken ct)
    {
        if (!have.TryGetValue(VolumeDatasets.ManagedProperty, out var record) || record.Source != "local") return;
        var removed = record.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Where(n => !managed.Contains(n) && VolumeSpecValidator.IsSpecPropertyName(n)).ToList();
        if (removed.Count == 0) return;
        var now = await zfs.Cli.GetAsync(ds, removed, ct).ConfigureAwait(false);
        foreach (var name in removed)
        {
            if (!now.TryGetValue(name, out var p) || p.Source != "local") continue;
            if (ClearedWithNone.Contains(name))
            {
                if (p.Value != "0") await zfs.Cli.SetAsync(ds, new Dictionary<string, string> { [name] = "none" }, ct).ConfigureAwait(false);
            }
            else
                await zfs.Cli.InheritAsync(ds, name, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes the volume. Refused (<see cref="VolumeInUseException"/>, transient) while the agent's exports file still
    /// exports it to clients, whatever the delete's spec says, or while a pod of this host uses it; refused for good
    /// (<see cref="PermanentReconcileException"/>) when the dataset does not carry the volume's mark (<see cref="CheckOwned"/>);
    /// otherwise it is destroyed with its snapshots. Deleting a volume that is not there succeeds.
    /// </summary>
    public async Task<JsonObject> DeleteAsync(string id, string hostId, VolumeSpec? spec, CancellationToken ct = default)
    {
        try { return await DeleteCoreAsync(id, hostId, spec, ct).ConfigureAwait(false); }
        catch (ForeignExportsFileException e) { throw new ForeignObjectException(e.Message); }
        finally { Changed?.Invoke(); }
    }

    private async Task<JsonObject> DeleteCoreAsync(string id, string hostId, VolumeSpec? spec, CancellationToken ct)
    {
        VolumeSpecValidator.ValidateId(id);
        // The real export, not the envelope: a delete without an nfs section must not unexport a volume clients mount.
        if (await exports.GetAsync(id, ct).ConfigureAwait(false) is { Clients.Count: > 0 } export)
            throw new VolumeInUseException($"delete refused: volume {id} is still exported to {string.Join(", ", export.Clients.Select(c => c.Match))}; " +
                "apply it without spec.nfs.clients first");
        if (usedByPod?.Invoke(id) == true)
            throw new VolumeInUseException($"delete refused: volume {id} is used by a pod on this host");
        string? ds = await FindAsync(id, spec?.Pool, ct).ConfigureAwait(false);
        // Before anything changes: a dataset without the volume's mark is not the agent's to destroy.
        if (ds is not null) await CheckOwnedAsync(ds, id, hostId, ct).ConfigureAwait(false);
        await exports.RemoveAsync(id, ct).ConfigureAwait(false);
        if (Replication is not null) await Replication.DeletingAsync(id, ds, ct).ConfigureAwait(false);
        if (ds is not null) await zfs.DestroyWithSnapshotsAsync(ds, ct).ConfigureAwait(false);
        return new JsonObject { ["dataset"] = ds, ["deleted"] = true };
    }

    /// <summary>
    /// At agent start: keeps in the exports file only volumes whose dataset still exists, is ours and is mounted
    /// at the exported path, then applies the file (exportfs -ra) so the kernel table matches it.
    /// </summary>
    public Task<ExportsAtStart> ReconcileExportsAtStartAsync(CancellationToken ct = default) => exports.ReconcileAtStartAsync(async e =>
    {
        string? ds = await FindAsync(e.VolumeId, null, ct).ConfigureAwait(false);
        if (ds is null) return false;
        var p = await zfs.Cli.GetAsync(ds, ["mounted", "mountpoint", VolumeDatasets.IdProperty], ct).ConfigureAwait(false);
        return p["mounted"].Value == "yes" && p["mountpoint"].Value == e.Path && p[VolumeDatasets.IdProperty].Value == e.VolumeId;
    }, ct);

    /// <summary>The dataset of volume <paramref name="id"/>: on the given pool, else on whichever pool has it.</summary>
    public async Task<string?> FindAsync(string id, string? pool, CancellationToken ct)
    {
        if (pool is not null)
        {
            try { ZfsNames.CheckPool("pool", pool); }
            catch (InvalidZfsNameException e) { throw new PermanentReconcileException($"spec.pool: {e.Message}", "spec.pool", e); }
        }
        var pools = pool is not null ? [pool] : await zfs.Cli.ListPoolsAsync(ct).ConfigureAwait(false);
        foreach (var p in pools)
        {
            string ds = VolumeDatasets.Name(p, id);
            if (zfs.Exists(ds)) return ds;
        }
        return null;
    }

    /// <summary>What the host has: dataset, bytes, device or mountpoint, export state, newest snapshot.</summary>
    public async Task<JsonObject> ObserveAsync(string id, string ds, CancellationToken ct)
    {
        var p = await zfs.Cli.GetAsync(ds, ["type", "used", "available", "referenced", "volsize", "refquota", "mountpoint", "mounted", VolumeDatasets.RestoreProperty, VolumeDatasets.GenerationProperty], ct).ConfigureAwait(false);
        bool volume = p["type"].Value == "volume";
        var snaps = await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false);
        var export = await exports.GetAsync(id, ct).ConfigureAwait(false);
        var o = new JsonObject
        {
            ["dataset"] = ds,
            ["class"] = volume ? "lv2" : "nfs",
            ["sizeBytes"] = Long(volume ? p["volsize"].Value : p["refquota"].Value),
            ["usedBytes"] = Long(p["used"].Value),
            ["availableBytes"] = Long(p["available"].Value),
            ["referencedBytes"] = Long(p["referenced"].Value),
            ["generation"] = Long(p[VolumeDatasets.GenerationProperty].Value),
        };
        if (volume) o["devicePath"] = "/dev/zvol/" + ds;
        else { o["mountpoint"] = p["mountpoint"].Value; o["mounted"] = p["mounted"].Value == "yes"; }
        o["export"] = export is null
            ? new JsonObject { ["state"] = "none" }
            : new JsonObject
            {
                ["state"] = "exported", ["path"] = export.Path, ["fsid"] = export.Fsid,
                ["clients"] = new JsonArray(export.Clients.Select(c => (JsonNode)JsonValue.Create(c.Match)).ToArray()),
            };
        o["newestSnapshot"] = snaps.Count > 0 ? NewestSnapshotNode(snaps[^1].Name, DateTimeOffset.FromUnixTimeSeconds(snaps[^1].Creation)) : null;
        o["snapshotCount"] = snaps.Count;
        string restored = p[VolumeDatasets.RestoreProperty].Value;
        o["restoredRequestId"] = restored == "-" ? null : restored;
        return o;
    }

    /// <summary>`observed.newestSnapshot`: the snapshot's full name and its creation time (UTC, seconds), or no time when unknown.</summary>
    public static JsonObject NewestSnapshotNode(string name, DateTimeOffset? createdAt) => new()
    {
        ["name"] = name,
        ["createdAt"] = createdAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
    };

    private async Task<string> ResolveSnapshotAsync(string ds, string name, CancellationToken ct)
    {
        foreach (var candidate in new[] { $"{ds}@{VolumeDatasets.UserSnapshotPrefix}{name}", $"{ds}@{name}" })
            if (zfs.Exists(candidate)) return candidate;
        await Task.CompletedTask.ConfigureAwait(false);
        _ = ct;
        throw new ZfsException("restore", $"{ds}@{name}", ZfsProblem.NotFound, Kraud.Libc.Errno.ENOENT, "spec.restore.snapshot names no snapshot of this volume");
    }

    private async Task DestroyQuietlyAsync(string id, string ds)
    {
        try { await exports.RemoveAsync(id, CancellationToken.None).ConfigureAwait(false); } catch (IOException) { }
        try { await zfs.DestroyWithSnapshotsAsync(ds, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is ZfsException or IOException) { /* the original error is what the caller needs */ }
    }

    private static SnapshotSchedule ScheduleOf(VolumeSpec spec) =>
        new((spec.Snapshots?.Schedule ?? []).Select(r => new ScheduleRule(r.Every!, r.Keep)).ToList());

    internal static string NormalizeOptions(string? options) =>
        string.Join(',', (options ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(o => o != "no_subtree_check"));

    private static long? Long(string v) => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : null;
}
