using System.Globalization;
using System.Text.Json.Nodes;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>
/// The Volume reconciler's replication part: a replica's dataset (read-only, never mounted or exported, the
/// listener told whom to accept), a source's entry for the schedule, and turning a replica into a source when its
/// spec says `role: source` (writable, mountable again; the reconciler then mounts and exports it as any volume).
/// </summary>
public sealed class ReplicaVolume(ZfsApi zfs, NfsExports exports, ReplicationRegistry registry)
{
    /// <summary>The schedule's per-target status of a source volume (observed.replication), when the daemon runs one.</summary>
    public Func<string, JsonNode?>? SourceStatus { get; init; }

    /// <summary>Handovers (needs the sender); without it a spec with a handover fails.</summary>
    public VolumeHandover? Handover { get; init; }

    /// <summary>
    /// A source spec with a handover: hands over once per requestId, then (and on every later reconcile of that
    /// spec) keeps the dataset as the new owner's replica. Null when the spec has no handover.
    /// </summary>
    public async Task<JsonObject?> HandoverAsync(string id, long generation, string hostId, VolumeSpec spec, string ds,
        IProgress<Kraud.Zfs.Send.TransferProgress>? progress, Func<Task<JsonObject>> observe, CancellationToken ct)
    {
        if (spec.Replication?.Handover is not { } h) return null;
        if (Handover is null) throw new PermanentReconcileException("spec.replication.handover: this agent cannot send (no replication sender configured)", "spec.replication.handover");
        JsonObject handed;
        if (await Handover.DoneAsync(ds, h.RequestId!, ct).ConfigureAwait(false)) handed = VolumeHandover.HandedOver(h);
        else
        {
            if (zfs.Exists(ds)) VolumeReconciler.CheckOwned(ds, await zfs.Cli.GetAsync(ds, [VolumeDatasets.IdProperty, VolumeDatasets.HostProperty], ct).ConfigureAwait(false), id, hostId);
            handed = await Handover.RunAsync(id, generation, spec, ds, progress, ct).ConfigureAwait(false);
        }
        var asReplica = new VolumeSpec
        {
            Pool = spec.Pool, Class = spec.Class, SizeBytes = spec.SizeBytes,
            Replication = new ReplicationSpec { Role = ReplicationSpec.ReplicaRole, Keep = spec.Replication.Keep, Source = new ReplicationPeerSpec { Host = h.To } },
        };
        var o = await ReconcileReplicaAsync(id, generation, hostId, asReplica, ds, observe, ct).ConfigureAwait(false);
        o["handedOver"] = handed;
        return o;
    }

    /// <summary>Applies a replica spec; the dataset itself appears with the source's first pass.</summary>
    public async Task<JsonObject> ReconcileReplicaAsync(string id, long generation, string hostId, VolumeSpec spec, string ds,
        Func<Task<JsonObject>> observe, CancellationToken ct)
    {
        var r = spec.Replication!;
        string source = r.Source!.Host!;
        registry.SetReplica(id, new ReplicaEntry(spec.Pool!, source, r.Keep, generation, spec.IsNfs));
        await exports.RemoveAsync(id, ct).ConfigureAwait(false);
        if (!zfs.Exists(ds))
            return new JsonObject
            {
                ["dataset"] = ds, ["class"] = spec.Class,
                ["replication"] = new JsonObject { ["source"] = source, ["lastReceived"] = null, ["receivedAt"] = null, ["state"] = "waiting for the first pass" },
            };
        var have = await zfs.Cli.GetAsync(ds, [VolumeDatasets.IdProperty, VolumeDatasets.HostProperty, VolumeDatasets.GenerationProperty,
            ReplicationNames.ReplicaOfProperty, "readonly", "type", "mounted", "canmount", "receive_resume_token", SnapshotSchedule.Property], ct).ConfigureAwait(false);
        bool partial = have.TryGetValue("receive_resume_token", out var tok) && tok.Value is not ("-" or "");
        if (partial && VolumeReconciler.MarkOf(have.GetValueOrDefault(VolumeDatasets.IdProperty)) == "-")
            return new JsonObject
            {
                ["dataset"] = ds, ["class"] = spec.Class,
                ["replication"] = new JsonObject { ["source"] = source, ["lastReceived"] = null, ["receivedAt"] = null, ["state"] = "first pass cut; it resumes" },
            };
        VolumeReconciler.CheckOwned(ds, have, id, hostId);
        if (have["type"].Value == "filesystem" && have["mounted"].Value == "yes") await zfs.Cli.UnmountAsync(ds, ct).ConfigureAwait(false);
        var want = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["readonly"] = "on", [ReplicationNames.ReplicaOfProperty] = source,
            [VolumeDatasets.GenerationProperty] = generation.ToString(CultureInfo.InvariantCulture),
        };
        if (have["type"].Value == "filesystem") want["canmount"] = "off";
        var changes = want.Where(kv => !have.TryGetValue(kv.Key, out var p) || p.Value != kv.Value || p.Source is not ("local" or "received"))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        if (changes.Count > 0) await zfs.Cli.SetAsync(ds, changes, ct).ConfigureAwait(false);
        // A replica takes no snapshots of its own: one newer than the base would stop the next incremental.
        if (have.TryGetValue(SnapshotSchedule.Property, out var sp) && sp.Source == "local") await zfs.Cli.InheritAsync(ds, SnapshotSchedule.Property, ct).ConfigureAwait(false);
        var o = await observe().ConfigureAwait(false);
        var snaps = await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false);
        var last = snaps.LastOrDefault(s => ReplicationNames.TimeOf(s.ShortName) is not null);
        o["replication"] = StatusNode(source, last?.ShortName, last?.Creation ?? 0, partial ? "resuming" : "replica");
        return o;
    }

    /// <summary>A replica's observed.replication: its source and the newest replication snapshot it has (a reconcile and the receiver both write it).</summary>
    /// <param name="lastReceived">The newest replication snapshot's short name; null when there is none.</param>
    /// <param name="creation">Its creation time (Unix seconds).</param>
    public static JsonObject StatusNode(string source, string? lastReceived, long creation, string state) => new()
    {
        ["source"] = source, ["lastReceived"] = lastReceived,
        ["receivedAt"] = lastReceived is null ? null : DateTimeOffset.FromUnixTimeSeconds(creation).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ["state"] = state,
    };

    /// <summary>
    /// Before a source (or unreplicated) spec converges: a dataset that is our replica becomes writable and mountable
    /// again. Only when it carries the volume's marks (the reconciler checks them first).
    /// </summary>
    public async Task PromoteIfReplicaAsync(string ds, CancellationToken ct)
    {
        var have = await zfs.Cli.GetAsync(ds, [ReplicationNames.ReplicaOfProperty, "readonly", "canmount", "type"], ct).ConfigureAwait(false);
        if (VolumeReconciler.MarkOf(have.GetValueOrDefault(ReplicationNames.ReplicaOfProperty)) == "-") return;
        if (have["readonly"].Source == "local") await zfs.Cli.InheritAsync(ds, "readonly", ct).ConfigureAwait(false);
        // canmount cannot be inherited; "on" is its default.
        if (have["type"].Value == "filesystem" && have["canmount"].Value != "on")
            await zfs.Cli.SetAsync(ds, new Dictionary<string, string> { ["canmount"] = "on" }, ct).ConfigureAwait(false);
        await zfs.Cli.InheritAsync(ds, ReplicationNames.ReplicaOfProperty, ct).ConfigureAwait(false);
    }

    /// <summary>After a source spec converged: the schedule sends it; any other spec takes it off the schedule and the listener.</summary>
    public void Applied(string id, long generation, VolumeSpec spec)
    {
        if (spec.Replication is { Role: ReplicationSpec.SourceRole } r) registry.SetSource(id, new SourceEntry(spec.Pool!, r, generation));
        else registry.Remove(id);
    }

    /// <summary>Before the volume's dataset is destroyed: off the schedule and the listener, and its targets' holds released (a held snapshot cannot be destroyed).</summary>
    public async Task DeletingAsync(string id, string? ds, CancellationToken ct)
    {
        registry.Remove(id);
        if (ds is null) return;
        foreach (var s in (await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false)).Where(s => s.Held))
            foreach (var tag in zfs.GetHolds(s.Name).Where(t => t.StartsWith(ReplicationNames.HoldTag(""), StringComparison.Ordinal)))
                zfs.Release([s.Name], tag);
    }

    public void AddSourceStatus(string id, VolumeSpec spec, JsonObject observed)
    {
        if (spec.Replication?.Role == ReplicationSpec.SourceRole && SourceStatus?.Invoke(id) is { } node) observed["replication"] = node;
    }
}
