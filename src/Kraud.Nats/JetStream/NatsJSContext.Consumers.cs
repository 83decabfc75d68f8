using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

public sealed partial class NatsJSContext
{
    /// <summary>
    /// Creates or updates a consumer. On nats-server 2.9.10 a create with an existing name always updates
    /// (there is no create-only action); changing e.g. deliver or ack policy fails with 10012.
    /// Durables use CONSUMER.DURABLE.CREATE, named ephemerals CONSUMER.CREATE.&lt;stream&gt;.&lt;name&gt;,
    /// nameless ones the legacy CONSUMER.CREATE.&lt;stream&gt;.
    /// </summary>
    public async ValueTask<NatsJSConsumer> CreateOrUpdateConsumerAsync(string stream, ConsumerConfig config, CancellationToken cancellationToken = default)
    {
        string subject;
        if (config.DurableName is { Length: > 0 } durable)
        {
            subject = Api($"CONSUMER.DURABLE.CREATE.{stream}.{durable}");
            if (config.Name is null) config = config with { Name = durable };
        }
        else if (config.Name is { Length: > 0 } name) subject = Api($"CONSUMER.CREATE.{stream}.{name}");
        else subject = Api($"CONSUMER.CREATE.{stream}");
        var info = await JSRequestAsync(subject, new ConsumerCreateRequest { StreamName = stream, Config = config },
            J.ConsumerCreateRequest, J.ConsumerInfo, cancellationToken).ConfigureAwait(false);
        return new NatsJSConsumer(this, info);
    }

    /// <summary>Same as <see cref="CreateOrUpdateConsumerAsync"/> (2.9.10 has no create-only).</summary>
    public ValueTask<NatsJSConsumer> CreateConsumerAsync(string stream, ConsumerConfig config, CancellationToken cancellationToken = default) =>
        CreateOrUpdateConsumerAsync(stream, config, cancellationToken);

    /// <summary>Gets a consumer (10014 <see cref="NatsJSApiException"/> when absent).</summary>
    public async ValueTask<NatsJSConsumer> GetConsumerAsync(string stream, string consumer, CancellationToken cancellationToken = default)
    {
        var info = await JSRequestAsync<EmptyRequest, ConsumerInfo>(Api($"CONSUMER.INFO.{stream}.{consumer}"), null, J.EmptyRequest, J.ConsumerInfo, cancellationToken).ConfigureAwait(false);
        return new NatsJSConsumer(this, info);
    }

    /// <summary>Deletes a consumer.</summary>
    public async ValueTask<bool> DeleteConsumerAsync(string stream, string consumer, CancellationToken cancellationToken = default)
    {
        var r = await JSRequestAsync<EmptyRequest, SuccessResponse>(Api($"CONSUMER.DELETE.{stream}.{consumer}"), null, J.EmptyRequest, J.SuccessResponse, cancellationToken).ConfigureAwait(false);
        return r.Success;
    }
}
