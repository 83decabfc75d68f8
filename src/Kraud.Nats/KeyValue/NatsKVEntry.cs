using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Nats.KeyValue;

/// <summary>What a revision of a key is.</summary>
public enum NatsKVOperation
{
    /// <summary>A value.</summary>
    Put,
    /// <summary>A delete marker.</summary>
    Del,
    /// <summary>A purge marker (older revisions removed).</summary>
    Purge,
}

/// <summary>One revision of a key.</summary>
public sealed record NatsKVEntry
{
    /// <summary>Bucket.</summary>
    public required string Bucket { get; init; }
    /// <summary>Key.</summary>
    public required string Key { get; init; }
    /// <summary>Value (empty for delete/purge markers).</summary>
    public ReadOnlyMemory<byte> Value { get; init; }
    /// <summary>Revision (the stream sequence).</summary>
    public ulong Revision { get; init; }
    /// <summary>In a watch: entries still pending after this one (0 marks the end of the initial values).</summary>
    public ulong Delta { get; init; }
    /// <summary>When this revision was written.</summary>
    public DateTimeOffset Created { get; init; }
    /// <summary>Put, Del or Purge.</summary>
    public NatsKVOperation Operation { get; init; }

    /// <summary>Deserializes the value with a source-generated type info.</summary>
    public T? Deserialize<T>(JsonTypeInfo<T> typeInfo) => Value.IsEmpty ? default : JsonSerializer.Deserialize(Value.Span, typeInfo);
}
