using System.Text.Json.Nodes;
using Kraud.Agent.Work;
using Kraud.Zfs.Reconcile;
using ZfsPermanent = Kraud.Zfs.Reconcile.PermanentReconcileException;

namespace Kraud.Agent.Reconcilers;

/// <summary>Kind Volume: a ZFS filesystem (nfs) or zvol (lv2) with snapshots, restore and NFS exports.</summary>
public sealed class VolumeKind(VolumeReconciler volumes) : IReconciler
{
    public string Kind => ResourceKinds.Volume;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        try
        {
            var spec = SpecReader.HasSpec(envelope) ? SpecParser.ParseVolume(SpecReader.Node(envelope)) : null;
            if (envelope.Deleted) return await volumes.DeleteAsync(envelope.Id, context.Host, spec, ct);
            return await volumes.ReconcileAsync(envelope.Id, envelope.Generation, context.Host,
                spec ?? throw new Work.PermanentReconcileException("spec: required"), progress: null, ct);
        }
        catch (ZfsPermanent e)
        {
            throw new Work.PermanentReconcileException(e.Message, e);
        }
    }
}

/// <summary>Kind Snapshot: a user snapshot of a volume, &lt;pool&gt;/kraud/&lt;volume&gt;@user-&lt;name&gt;.</summary>
public sealed class SnapshotKind(SnapshotReconciler snapshots) : IReconciler
{
    public string Kind => ResourceKinds.Snapshot;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        try
        {
            // A delete may come without a spec (never applied here, or the state directory lost): found by kraud:id.
            if (envelope.Deleted)
                return await snapshots.DeleteAsync(envelope.Id, SpecReader.HasSpec(envelope) ? SpecParser.ParseSnapshot(SpecReader.Node(envelope)) : null, ct);
            return await snapshots.ReconcileAsync(envelope.Id, envelope.Generation, context.Host, SpecParser.ParseSnapshot(SpecReader.Node(envelope)), ct);
        }
        catch (ZfsPermanent e)
        {
            throw new Work.PermanentReconcileException(e.Message, e);
        }
    }
}
