using Kraud.Nats.KeyValue;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Status;

/// <summary>
/// Writes resource status to KRAUD_STATUS. A status never goes back in generation: after a token is acked the
/// next generation may already run on another agent, so a late write for an older generation is dropped
/// (compare-and-set on the key's revision).
/// </summary>
public sealed class StatusWriter(NatsKVStore bucket, TimeProvider clock, ILogger<StatusWriter> logger)
{
    public async Task WriteAsync(ResourceStatus status, CancellationToken ct)
    {
        status = status with { UpdatedAt = clock.GetUtcNow() };
        byte[] value = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(status, AgentJsonContext.Default.ResourceStatus);
        string key = $"{status.Host}.{status.Kind.ToLowerInvariant()}.{status.Id}";
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var current = await bucket.TryGetEntryAsync(key, ct);
            try
            {
                if (current is null)
                {
                    await bucket.CreateAsync(key, value, ct);
                    return;
                }
                var stored = current.Deserialize(AgentJsonContext.Default.ResourceStatus);
                if (stored is not null && stored.Generation > status.Generation)
                {
                    logger.LogDebug("status {Phase} of generation {Generation} dropped: generation {Stored} is newer", status.Phase, status.Generation, stored.Generation);
                    return;
                }
                await bucket.UpdateAsync(key, value, current.Revision, ct);
                return;
            }
            catch (Exception e) when (e is NatsKVWrongLastRevisionException or NatsKVCreateException)
            {
                // Someone wrote in between: read again and decide again.
            }
        }
        logger.LogWarning("status {Phase} of generation {Generation} not written: the key kept changing", status.Phase, status.Generation);
    }
}
