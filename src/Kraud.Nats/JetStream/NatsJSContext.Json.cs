using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

public sealed partial class NatsJSContext
{
    /// <summary>Publishes a value serialized with a source-generated type info; see <see cref="PublishAsync(string, ReadOnlyMemory{byte}, NatsJSPubOpts?, NatsHeaders?, CancellationToken)"/>.</summary>
    public ValueTask<PubAckResponse> PublishAsync<T>(string subject, T data, JsonTypeInfo<T> typeInfo, NatsJSPubOpts? opts = null, NatsHeaders? headers = null, CancellationToken cancellationToken = default) =>
        PublishAsync(subject, JsonSerializer.SerializeToUtf8Bytes(data, typeInfo), opts, headers, cancellationToken);
}
