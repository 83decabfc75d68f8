using Kraud.Nats.JetStream;

namespace Kraud.Nats.KeyValue;

/// <summary>Creates and opens KV buckets.</summary>
public sealed class NatsKVContext(NatsJSContext js)
{
    /// <summary>The JetStream context underneath.</summary>
    public NatsJSContext JetStream { get; } = js;

    /// <summary>Creates a bucket; an identical existing one is opened, a different one gives 10058 (<see cref="NatsJSApiException"/>).</summary>
    public async ValueTask<NatsKVStore> CreateStoreAsync(NatsKVConfig config, CancellationToken cancellationToken = default)
    {
        ValidateBucket(config.Bucket);
        var stream = await JetStream.CreateStreamAsync(config.ToStreamConfig(), cancellationToken).ConfigureAwait(false);
        return new NatsKVStore(JetStream, config.Bucket, stream);
    }

    /// <summary>Creates the bucket or updates its config.</summary>
    public async ValueTask<NatsKVStore> CreateOrUpdateStoreAsync(NatsKVConfig config, CancellationToken cancellationToken = default)
    {
        ValidateBucket(config.Bucket);
        var stream = await JetStream.CreateOrUpdateStreamAsync(config.ToStreamConfig(), cancellationToken).ConfigureAwait(false);
        return new NatsKVStore(JetStream, config.Bucket, stream);
    }

    /// <summary>Opens an existing bucket (10059 <see cref="NatsJSApiException"/> when absent).</summary>
    public async ValueTask<NatsKVStore> GetStoreAsync(string bucket, CancellationToken cancellationToken = default)
    {
        ValidateBucket(bucket);
        var stream = await JetStream.GetStreamAsync($"KV_{bucket}", null, cancellationToken).ConfigureAwait(false);
        return new NatsKVStore(JetStream, bucket, stream);
    }

    /// <summary>Deletes a bucket and all its keys.</summary>
    public ValueTask<bool> DeleteStoreAsync(string bucket, CancellationToken cancellationToken = default) =>
        JetStream.DeleteStreamAsync($"KV_{bucket}", cancellationToken);

    private static void ValidateBucket(string bucket)
    {
        if (bucket.Length == 0 || !bucket.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            throw new ArgumentException($"invalid bucket name '{bucket}' (allowed: A-Z a-z 0-9 _ -)");
    }
}
