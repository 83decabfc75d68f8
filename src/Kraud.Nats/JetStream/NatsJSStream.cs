using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

/// <summary>A stream handle with the info from the last call (<see cref="Info"/>.Config is the server's normalized config).</summary>
public sealed class NatsJSStream
{
    private readonly NatsJSContext _js;

    internal NatsJSStream(NatsJSContext js, StreamInfo info)
    {
        _js = js;
        Info = info;
    }

    /// <summary>Info as of the last refresh.</summary>
    public StreamInfo Info { get; private set; }

    /// <summary>Stream name.</summary>
    public string Name => Info.Config.Name;

    /// <summary>Reloads <see cref="Info"/>.</summary>
    public async ValueTask RefreshAsync(CancellationToken cancellationToken = default) =>
        Info = (await _js.GetStreamAsync(Name, null, cancellationToken).ConfigureAwait(false)).Info;

    /// <summary>The last message on a subject, or null.</summary>
    public ValueTask<NatsJSStoredMsg?> GetLastMsgBySubjectAsync(string subject, CancellationToken cancellationToken = default) =>
        _js.GetLastMsgBySubjectAsync(Name, subject, cancellationToken);

    /// <summary>Purges messages (all, or by filter/seq/keep).</summary>
    public ValueTask<ulong> PurgeAsync(StreamPurgeRequest? request = null, CancellationToken cancellationToken = default) =>
        _js.PurgeStreamAsync(Name, request, cancellationToken);

    /// <summary>Creates or updates a consumer on this stream.</summary>
    public ValueTask<NatsJSConsumer> CreateOrUpdateConsumerAsync(ConsumerConfig config, CancellationToken cancellationToken = default) =>
        _js.CreateOrUpdateConsumerAsync(Name, config, cancellationToken);

    /// <summary>Gets a consumer of this stream.</summary>
    public ValueTask<NatsJSConsumer> GetConsumerAsync(string name, CancellationToken cancellationToken = default) =>
        _js.GetConsumerAsync(Name, name, cancellationToken);
}
