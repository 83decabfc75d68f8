using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using NATS.Client.Core;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// A JSON value through one of our source-generated contexts (NATS.Net's own JSON serializer uses reflection,
/// which the native binary cannot have). A value that does not parse reads as null: a status or host record
/// someone else wrote badly must not stop the agent from writing its own over it.
/// </summary>
public sealed class JsonValueSerializer<T>(JsonTypeInfo<T> info) : INatsSerializer<T> where T : class
{
    public void Serialize(IBufferWriter<byte> buffer, T value)
    {
        using var writer = new Utf8JsonWriter(buffer);
        JsonSerializer.Serialize(writer, value, info);
    }

    public T? Deserialize(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty) return null;
        try
        {
            var reader = new Utf8JsonReader(buffer);
            return JsonSerializer.Deserialize(ref reader, info);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public INatsSerializer<T> CombineWith(INatsSerializer<T> next) => this;
}

/// <summary>
/// For messages whose payload the agent never reads (work tokens, the dispatcher's desired states): nothing is
/// copied out of the connection's buffer, however large the payload.
/// </summary>
public sealed class PayloadIgnored : INatsDeserialize<PayloadIgnored>
{
    public static readonly PayloadIgnored Instance = new();

    public PayloadIgnored? Deserialize(in ReadOnlySequence<byte> buffer) => null;
}

/// <summary>The serializers the agent uses, one instance each.</summary>
public static class Serializers
{
    public static readonly INatsSerializer<byte[]> Bytes = NatsRawSerializer<byte[]>.Default;
    public static readonly JsonValueSerializer<ResourceStatus> Status = new(AgentJsonContext.Default.ResourceStatus);
    public static readonly JsonValueSerializer<WorkToken> WorkToken = new(AgentJsonContext.Default.WorkToken);
    public static readonly JsonValueSerializer<ControlPlane.HostRecord> HostRecord = new(AgentJsonContext.Default.HostRecord);
}
