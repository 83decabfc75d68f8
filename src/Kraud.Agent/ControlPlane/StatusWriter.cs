using Kraud.Agent.Kinds;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Writes resource status to KRAUD_STATUS. A status never goes back in generation: after a token is acked the
/// next generation may already run on another agent, so a late write for an older generation is dropped
/// (compare-and-set on the key's revision). Two exceptions: a status of generation 0 (an envelope too broken to
/// read its generation) is written at the stored generation, and a stored <c>Deleted</c> may be followed by any
/// generation (a resource created again after its delete finished, whose numbering may start over).
/// A status too large for one NATS message (the server's max_payload, 1 MiB by default: a Vpc with ten thousand peers
/// observed, say) is written without its observed, which says so, rather than never: the phase and message still
/// reach the control plane, and the resource is never left without a status.
/// </summary>
public sealed class StatusWriter(INatsKVStore bucket, TimeProvider clock, ILogger<StatusWriter> logger, long maxPayload = StatusWriter.DefaultMaxPayload)
{
    /// <summary>nats-server's default max_payload; the daemon passes the one its server announced.</summary>
    public const long DefaultMaxPayload = 1 << 20;

    /// <summary>Room left in a message for the KV put's subject and headers.</summary>
    private const int HeaderRoom = 1024;

    /// <summary>What this agent wrote last per key: when nobody wrote since, one update by revision is enough.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ulong Revision, long Generation)> _written = new();

    /// <summary>Writes <paramref name="status"/> under <paramref name="key"/> (default: host.kind.id, kind in lower case).</summary>
    public Task WriteAsync(ResourceStatus status, CancellationToken ct, string? key = null) => WriteOnceAsync(Fit(status), ct, key);

    /// <summary>
    /// The status as it can be sent: whole when it fits in one message, else without its observed, which says so.
    /// Measured before the write, because the client's refusal differs by call (a create reports a missing key).
    /// </summary>
    private ResourceStatus Fit(ResourceStatus status)
    {
        long size = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(status, AgentJsonContext.Default.ResourceStatus).LongLength;
        if (size <= maxPayload - HeaderRoom) return status;
        logger.LogWarning("status {Phase} of {Kind} {Id} is {Size} bytes, over the server's {Max}-byte message limit: written without its observed",
            status.Phase, status.Kind, status.Id, size, maxPayload);
        return status with
        {
            Observed = new System.Text.Json.Nodes.JsonObject
            {
                ["omitted"] = $"observed is too large for one NATS message ({size} bytes, max_payload {maxPayload}) and was left out",
            },
        };
    }

    private async Task WriteOnceAsync(ResourceStatus status, CancellationToken ct, string? key)
    {
        status = status with { UpdatedAt = clock.GetUtcNow() };
        key ??= $"{status.Host}.{status.Kind.ToLowerInvariant()}.{status.Id}";
        if (status.Generation > 0 && _written.TryGetValue(key, out var mine) && status.Generation >= mine.Generation)
        {
            try
            {
                _written[key] = (await bucket.UpdateAsync(key, status, mine.Revision, Serializers.Status, ct), status.Generation);
                return;
            }
            catch (NatsKVWrongLastRevisionException)
            {
                // Another agent wrote since: read and decide below.
            }
        }
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var current = await bucket.GetOrNullAsync(key, Serializers.Status, ct);
            try
            {
                if (current is null)
                {
                    _written[key] = (await bucket.CreateAsync(key, status, Serializers.Status, ct), status.Generation);
                    return;
                }
                var stored = current.Value.Value;
                var write = stored is not null && status.Generation == 0 ? status with { Generation = stored.Generation } : status;
                if (stored is not null && stored.Generation > write.Generation && stored.Phase != ResourceStatus.Deleted)
                {
                    logger.LogDebug("status {Phase} of generation {Generation} dropped: generation {Stored} is newer", status.Phase, status.Generation, stored.Generation);
                    return;
                }
                _written[key] = (await bucket.UpdateAsync(key, write, current.Value.Revision, Serializers.Status, ct), write.Generation);
                return;
            }
            catch (Exception e) when (e is NatsKVWrongLastRevisionException or NatsKVCreateException)
            {
                // Someone wrote in between: read again and decide again.
            }
        }
        logger.LogWarning("status {Phase} of generation {Generation} not written: the key kept changing", status.Phase, status.Generation);
    }

    /// <summary>
    /// Changes the observed of <c>host.kind.id</c> when its stored status is Ready at <paramref name="generation"/>
    /// (see <see cref="IStatusAmender"/>): read, edit a copy, update on the read revision; on a conflict, again. With
    /// <paramref name="phase"/>, a Failed status may be amended too and the phase and message become the given ones.
    /// </summary>
    public async Task<AmendOutcome> AmendObservedAsync(string host, string kind, string id, long generation,
        Func<System.Text.Json.Nodes.JsonObject, bool> change, CancellationToken ct, (string Phase, string Message)? phase = null)
    {
        string key = new ResourceKey(host, ResourceKinds.SubjectToken(kind), id).StatusKey;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var current = await bucket.GetOrNullAsync(key, Serializers.Status, ct);
            var stored = current?.Value;
            if (current is null || stored is null) return AmendOutcome.NoStatus;
            if (stored.Generation != generation) return AmendOutcome.OtherGeneration;
            if (stored.Phase != ResourceStatus.Ready && (phase is null || stored.Phase != ResourceStatus.Failed)) return AmendOutcome.NotReady;
            var observed = (System.Text.Json.Nodes.JsonObject)stored.Observed.DeepClone();
            bool samePhase = phase is null || (phase.Value.Phase == stored.Phase && phase.Value.Message == stored.Message);
            if (!change(observed) && samePhase) return AmendOutcome.Unchanged;
            var value = Fit(stored with
            {
                Observed = observed, UpdatedAt = clock.GetUtcNow(), Phase = phase?.Phase ?? stored.Phase, Message = phase?.Message ?? stored.Message,
            });
            try
            {
                _written[key] = (await bucket.UpdateAsync(key, value, current.Value.Revision, Serializers.Status, ct), stored.Generation);
                return AmendOutcome.Amended;
            }
            catch (NatsKVWrongLastRevisionException)
            {
                // The engine (or another agent) wrote in between: read again and decide again.
            }
        }
        return AmendOutcome.KeptChanging;
    }
}
