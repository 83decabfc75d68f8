using System.Text.Json.Nodes;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Send;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>
/// Handover (replication.md), once per requestId: the source refuses new writers (unexport, read-only; a pod of
/// this host still using the volume fails it transiently), takes a final snapshot, sends it to the new owner, and
/// becomes that host's replica. The requestId is kept on the dataset (kraud:handover-request), so a retried or
/// repeated reconcile of the same generation does not hand over twice.
/// </summary>
public sealed class VolumeHandover(ZfsApi zfs, NfsExports exports, ReplicationRegistry registry, ReplicationSender sender, TimeProvider clock)
{
    public const string RequestProperty = "kraud:handover-request";

    /// <summary>Whether a pod of this host uses the volume (the daemon wires the Pod kind's answer).</summary>
    public Func<string, bool>? UsedByPod { get; set; }

    /// <summary>Whether <paramref name="requestId"/> was handed over already (this host is then the new owner's replica).</summary>
    public async Task<bool> DoneAsync(string ds, string requestId, CancellationToken ct) =>
        zfs.Exists(ds) && VolumeReconciler.MarkOf((await zfs.Cli.GetAsync(ds, [RequestProperty], ct).ConfigureAwait(false)).GetValueOrDefault(RequestProperty)) == requestId;

    /// <summary>Hands volume <paramref name="id"/> over to the handover's target; returns observed.handedOver.</summary>
    public async Task<JsonObject> RunAsync(string id, long generation, VolumeSpec spec, string ds, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        var r = spec.Replication!;
        var h = r.Handover!;
        var target = r.Targets!.First(t => t.Host == h.To);
        if (UsedByPod?.Invoke(id) == true)
            throw new VolumeInUseException($"handover {h.RequestId} refused: volume {id} is used by a pod on this host; stop the pod first");
        if (!zfs.Exists(ds)) throw new PermanentReconcileException($"spec.replication.handover: volume {id} has no dataset on this host to hand over", "spec.replication.handover");

        // No new writers: clients lose the export, and the dataset turns read-only before the final snapshot.
        await exports.RemoveAsync(id, ct).ConfigureAwait(false);
        await zfs.Cli.SetAsync(ds, new Dictionary<string, string> { ["readonly"] = "on" }, ct).ConfigureAwait(false);

        var gate = registry.LockOf(id);
        await gate.WaitAsync(ct).ConfigureAwait(false);
        TargetPassResult sent;
        string final;
        try
        {
            final = $"{ds}@{ReplicationNames.Snapshot(clock.GetUtcNow())}";
            if (!zfs.Exists(final)) zfs.Snapshot([final]);
            try { sent = await sender.SendAsync(id, ds, target, final, progress, ct: ct).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
                or ReplicationRefusedException or ZfsException or TimeoutException)
            {
                throw new TransientReconcileException($"handover {h.RequestId}: the final send to '{h.To}' failed: {e.Message}; the volume stays read-only and unexported until it succeeds", e);
            }
        }
        finally { gate.Release(); }
        if (sent.Error is not null)
            throw new TransientReconcileException($"handover {h.RequestId}: the final send to '{h.To}' failed: {sent.Error}; the volume stays read-only and unexported until it succeeds");

        // Now h.To's replica has the final snapshot: this host becomes its replica.
        var props = new Dictionary<string, string> { [ReplicationNames.ReplicaOfProperty] = h.To!, [RequestProperty] = h.RequestId! };
        if (spec.IsNfs) props["canmount"] = "off";
        await zfs.Cli.SetAsync(ds, props, ct).ConfigureAwait(false);
        if (spec.IsNfs && (await zfs.Cli.GetAsync(ds, ["mounted"], ct).ConfigureAwait(false))["mounted"].Value == "yes")
            await zfs.Cli.UnmountAsync(ds, ct).ConfigureAwait(false);
        // This host sends no more: its targets' holds go, so the replica's pruning can take those snapshots.
        foreach (var s in (await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false)).Where(s => s.Held))
            foreach (var tag in zfs.GetHolds(s.Name).Where(t => t.StartsWith(ReplicationNames.HoldTag(""), StringComparison.Ordinal)))
                zfs.Release([s.Name], tag);
        registry.SetReplica(id, new ReplicaEntry(spec.Pool!, h.To!, r.Keep, generation, spec.IsNfs));
        return await HandedOverAsync(final, h, ct).ConfigureAwait(false);
    }

    /// <summary>observed.handedOver of a handover done before (its final snapshot is in the status of the run that did it).</summary>
    public static JsonObject HandedOver(HandoverSpec h) => new() { ["requestId"] = h.RequestId, ["to"] = h.To };

    /// <summary>observed.handedOver: the request, the new owner, the final snapshot and its guid (the control plane checks it on the other side).</summary>
    private async Task<JsonObject> HandedOverAsync(string final, HandoverSpec h, CancellationToken ct)
    {
        string guid = (await zfs.Cli.GetAsync(final, ["guid"], ct).ConfigureAwait(false))["guid"].Value;
        return new JsonObject { ["requestId"] = h.RequestId, ["to"] = h.To, ["snapshot"] = ReplicationNames.ShortName(final), ["guid"] = guid };
    }
}
