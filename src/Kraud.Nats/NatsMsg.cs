using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Nats;

/// <summary>A received message. <see cref="Data"/> is owned by the message (not pooled).</summary>
public readonly struct NatsMsg
{
    internal NatsMsg(string subject, string? replyTo, NatsHeaders? headers, ReadOnlyMemory<byte> data, int size, NatsConnection? connection)
    {
        Subject = subject;
        ReplyTo = replyTo;
        Headers = headers;
        Data = data;
        Size = size;
        Connection = connection;
    }

    /// <summary>The subject it was published to.</summary>
    public string Subject { get; }

    /// <summary>The reply subject, if any.</summary>
    public string? ReplyTo { get; }

    /// <summary>Headers, or null when the message had none.</summary>
    public NatsHeaders? Headers { get; }

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Bytes on the wire (subject, reply, headers, payload).</summary>
    public int Size { get; }

    /// <summary>The connection it arrived on.</summary>
    public NatsConnection? Connection { get; }

    /// <summary>True for a status/control message (a status code in the header line).</summary>
    public bool HasStatus => Headers is { Code: > 0 };

    /// <summary>Deserializes <see cref="Data"/> with a source-generated type info.</summary>
    public T? Deserialize<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(Data.Span, typeInfo);

    /// <summary>Publishes a reply to <see cref="ReplyTo"/>.</summary>
    public ValueTask ReplyAsync(ReadOnlyMemory<byte> data = default, NatsHeaders? headers = null, CancellationToken cancellationToken = default)
    {
        if (ReplyTo is null) throw new InvalidOperationException($"message on '{Subject}' has no reply subject");
        if (Connection is null) throw new InvalidOperationException("message is not bound to a connection");
        return Connection.PublishAsync(ReplyTo, data, headers, null, cancellationToken);
    }
}
