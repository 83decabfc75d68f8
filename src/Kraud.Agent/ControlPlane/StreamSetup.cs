using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Creates the streams, consumers and buckets when absent. When a stream exists with another configuration the
/// agent logs each difference and keeps running on what is there (contract section 1): changing a shared stream
/// is the control plane's decision, not one host's.
/// </summary>
public sealed class StreamSetup(INatsJSContext js, StreamLayout layout, ILogger<StreamSetup> logger)
{
    public sealed record Handles(INatsJSConsumer Dispatch, INatsJSConsumer Work, INatsKVStore Status, INatsKVStore Hosts);

    public async Task<Handles> EnsureAsync(CancellationToken ct)
    {
        await EnsureStreamAsync(layout.DesiredStream, ct);
        await EnsureStreamAsync(layout.WorkStream, ct);
        var dispatch = await EnsureConsumerAsync(StreamLayout.Desired, layout.DispatchConsumerConfig, ct);
        var work = await EnsureConsumerAsync(StreamLayout.Work, layout.WorkConsumerConfig, ct);
        var kv = new NatsKVContext(js);
        var status = await EnsureBucketAsync(kv, StreamLayout.StatusBucket, ct);
        var hosts = await EnsureBucketAsync(kv, StreamLayout.HostsBucket, ct);
        return new Handles(dispatch, work, status, hosts);
    }

    private async Task EnsureStreamAsync(StreamConfig wanted, CancellationToken ct)
    {
        INatsJSStream existing;
        try
        {
            existing = await js.GetStreamAsync(wanted.Name!, cancellationToken: ct);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == 10059) // stream not found
        {
            try
            {
                await js.CreateStreamAsync(wanted, ct);
                logger.LogInformation("created stream {Stream}", wanted.Name);
            }
            catch (NatsJSApiException c) when (c.Error.ErrCode == 10058)
            {
                // Another agent created it a moment ago.
            }
            return;
        }
        var have = StreamLayout.Fingerprint(existing.Info.Config).ToDictionary(f => f.Field, f => f.Value);
        foreach (var (field, value) in StreamLayout.Fingerprint(wanted))
            if (!have.TryGetValue(field, out var actual) || actual != value)
                logger.LogWarning("stream {Stream} has {Field} = {Actual}, the contract says {Expected}; keeping the server's configuration",
                    wanted.Name, field, actual ?? "(unset)", value);
    }

    /// <summary>
    /// The consumer as the layout wants it: created, or updated when its configuration changed (say the
    /// concurrency, its max_ack_pending). nats-server 2.9.10 ignores the create/update action NATS.Net sends, so
    /// this is create-or-update on any server; a field the server will not change is logged and the consumer used as is.
    /// </summary>
    private async Task<INatsJSConsumer> EnsureConsumerAsync(string stream, ConsumerConfig wanted, CancellationToken ct)
    {
        try
        {
            return await js.CreateOrUpdateConsumerAsync(stream, wanted, ct);
        }
        catch (NatsJSApiException e)
        {
            // An existing durable with fields the server will not change (a different filter, say): use it as it is.
            logger.LogWarning("consumer {Consumer} on {Stream} could not be updated ({Error}); using it as it is", wanted.DurableName, stream, e.Message);
            return await js.GetConsumerAsync(stream, wanted.DurableName!, ct);
        }
    }

    private async Task<INatsKVStore> EnsureBucketAsync(NatsKVContext kv, string name, CancellationToken ct)
    {
        try
        {
            return await kv.GetStoreAsync(name, ct);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == 10059)
        {
            try
            {
                var store = await kv.CreateStoreAsync(layout.Bucket(name), ct);
                logger.LogInformation("created bucket {Bucket}", name);
                return store;
            }
            catch (NatsJSApiException c) when (c.Error.ErrCode == 10058)
            {
                return await kv.GetStoreAsync(name, ct);
            }
        }
    }
}
