using System.Text.Json;
using Kraud.Agent.Kinds;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Turns desired states into work tokens (contract section 3.1): for each message on this host's dispatch
/// consumer, publish <c>{"desiredSeq": N}</c> to the resource's work subject with <c>Nats-Msg-Id: d-N</c>.
/// Stored or duplicate: ack. Refused with 10077 (a token for that resource is queued or held): -NAK with a
/// growing delay, so other resources keep flowing. This replaces stream sources, which on 2.9.10 block every
/// resource behind one held token (reference/nats.md section 4). The envelope itself is never read here.
/// </summary>
public sealed class Dispatcher(INatsJSContext js, INatsJSConsumer consumer, ILogger<Dispatcher> logger)
{
    private const int Batch = 64;
    public const int Busy = 10077;

    public async Task RunAsync(CancellationToken ct)
    {
        var opts = new NatsJSFetchOpts { MaxMsgs = Batch, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(2) };
        while (!ct.IsCancellationRequested)
        {
            var inFlight = new List<Task>(Batch);
            try
            {
                await foreach (var msg in consumer.FetchAsync(opts, PayloadIgnored.Instance, ct))
                    inFlight.Add(DispatchOneAsync(msg, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                logger.LogWarning("dispatch fetch failed: {Error}; retrying", e.Message);
                await Pause.ForAsync(TimeSpan.FromSeconds(1), ct);
            }
            await Task.WhenAll(inFlight);
        }
    }

    /// <summary>
    /// Publishes the token <c>{"desiredSeq": N}</c> to a resource's work subject; false when the server refuses it
    /// because a token for that resource is queued or held (10077). Other failures throw.
    /// </summary>
    public static async Task<bool> TryPublishTokenAsync(INatsJSContext js, string workSubject, ulong desiredSeq, string? msgId, CancellationToken ct)
    {
        byte[] token = JsonSerializer.SerializeToUtf8Bytes(new WorkToken(desiredSeq), AgentJsonContext.Default.WorkToken);
        var ack = await js.PublishAsync(workSubject, token, Serializers.Bytes, msgId is null ? null : new NatsJSPubOpts { MsgId = msgId }, cancellationToken: ct);
        if (ack.Error is { ErrCode: Busy }) return false;
        ack.EnsureSuccess();
        return true;
    }

    private async Task DispatchOneAsync(INatsJSMsg<PayloadIgnored> msg, CancellationToken ct)
    {
        var meta = msg.Metadata;
        ulong seq = meta?.Sequence.Stream ?? 0;
        var key = ResourceKey.FromSubject(msg.Subject);
        try
        {
            if (key is null || seq == 0)
            {
                // Not a subject of the contract's shape: no resource to report on. Drop it loudly.
                logger.LogError("desired message on {Subject} does not name kraud.desired.<host>.<kind>.<id>; dropped", WorkEngine.Escape(msg.Subject));
                await msg.AckTerminateAsync(Settle.Terminate, ct);
                return;
            }
            if (!await TryPublishTokenAsync(js, key.WorkSubject, seq, $"d-{seq}", ct))
            {
                var delay = Backoff.Busy(meta?.NumDelivered ?? 1);
                logger.LogDebug("{Resource} busy; desired seq {Seq} retried in {DelayMs} ms", key, seq, (int)delay.TotalMilliseconds);
                await msg.NakAsync(Settle.NakAfter(delay), ct);
                return;
            }
            // Unconfirmed on purpose: if this ack is lost the message comes back, and the token's Nats-Msg-Id
            // makes the re-publish a duplicate. Saves a round trip per resource.
            await msg.AckAsync(new AckOpts { DoubleAck = false }, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: the message is redelivered after ack_wait, and the token's Nats-Msg-Id dedupes a re-publish.
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            logger.LogWarning("dispatch of {Subject} (seq {Seq}) failed: {Error}; it comes back after ack_wait", WorkEngine.Escape(msg.Subject), seq, e.Message);
        }
    }
}
