namespace Kraud.Nats.KeyValue;

/// <summary>Base of KV errors.</summary>
public class NatsKVException(string message, Exception? inner = null) : NatsException(message, inner);

/// <summary>The key has no value.</summary>
public sealed class NatsKVKeyNotFoundException(string bucket, string key) : NatsKVException($"key '{key}' not found in bucket '{bucket}'");

/// <summary>The key's latest revision is a delete or purge marker.</summary>
public sealed class NatsKVKeyDeletedException(string bucket, string key, ulong revision)
    : NatsKVException($"key '{key}' in bucket '{bucket}' was deleted (revision {revision})")
{
    /// <summary>Revision of the marker.</summary>
    public ulong Revision { get; } = revision;
}

/// <summary>Create found the key already holding a value.</summary>
public sealed class NatsKVCreateException(string bucket, string key, Exception? inner = null)
    : NatsKVException($"key '{key}' already exists in bucket '{bucket}'", inner);

/// <summary>Update(rev) found another latest revision.</summary>
public sealed class NatsKVWrongLastRevisionException(string bucket, string key, ulong expected, Exception? inner = null)
    : NatsKVException($"key '{key}' in bucket '{bucket}' is no longer at revision {expected}: {inner?.Message}", inner)
{
    /// <summary>The revision the caller expected.</summary>
    public ulong ExpectedRevision { get; } = expected;
}
