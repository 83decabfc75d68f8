using Kraud.Zfs.Schedule;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// After a scheduler pass, puts each new snapshot into its volume's status (observed.newestSnapshot), keeping
/// the generation and phase. Only where the stored status belongs to the generation the dataset carries: a
/// status of another generation is the engine's business, which reports the newest snapshot itself.
/// </summary>
public sealed class SnapshotStatusUpdater(IStatusAmender amender, ILogger logger)
{
    /// <summary>Amends one status per taken snapshot; returns how many were written. Never throws for one volume's trouble.</summary>
    public async Task<int> UpdateAsync(SchedulerPassResult pass, CancellationToken ct)
    {
        int amended = 0;
        foreach (var taken in pass.Taken)
        {
            if (taken.VolumeId is not { } id || taken.Generation is not { } generation) continue;
            using var scope = logger.BeginScope(new Dictionary<string, object?> { ["Kind"] = ResourceKinds.Volume, ["Id"] = id, ["Generation"] = generation });
            var node = VolumeReconciler.NewestSnapshotNode(taken.Snapshot, taken.CreatedAt);
            try
            {
                var outcome = await amender.AmendObservedAsync(ResourceKinds.Volume, id, generation, observed =>
                {
                    if (System.Text.Json.Nodes.JsonNode.DeepEquals(observed["newestSnapshot"], node)) return false;
                    observed["newestSnapshot"] = node.DeepClone();
                    return true;
                }, ct);
                if (outcome == AmendOutcome.Amended) amended++;
                logger.LogDebug("status after snapshot {Snapshot}: {Outcome}", taken.Snapshot, outcome);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
            {
                logger.LogWarning("status after snapshot {Snapshot} not written: {Error}", taken.Snapshot, e.Message);
            }
        }
        return amended;
    }
}
