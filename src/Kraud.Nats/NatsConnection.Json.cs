using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Nats;

public sealed partial class NatsConnection
{
    /// <summary>Publishes a value serialized with a source-generated type info.</summary>
    public ValueTask PublishAsync<T>(string subject, T data, JsonTypeInfo<T> typeInfo, NatsHeaders? headers = null, string? replyTo = null, CancellationToken cancellationToken = default) =>
        PublishAsync(subject, JsonSerializer.SerializeToUtf8Bytes(data, typeInfo), headers, replyTo, cancellationToken);
}
