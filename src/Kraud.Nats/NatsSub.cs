using System.Threading.Channels;

namespace Kraud.Nats;

/// <summary>A core subscription whose messages are read from <see cref="Msgs"/>.</summary>
public sealed class NatsSub : NatsSubBase, IAsyncDisposable
{
    private readonly Channel<NatsMsg> _channel;

    internal NatsSub(NatsConnection connection, string subject, string? queueGroup, int capacity)
        : base(connection, subject, queueGroup)
    {
        _channel = Channel.CreateBounded<NatsMsg>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails, so a drop is seen and reported
            SingleReader = false,
            SingleWriter = true,
        });
    }

    /// <summary>The received messages; completes when unsubscribed or the connection is disposed.</summary>
    public ChannelReader<NatsMsg> Msgs => _channel.Reader;

    internal override void Receive(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size)
    {
        var msg = Materialize(subject, replyTo, headers, payload, size);
        if (!_channel.Writer.TryWrite(msg)) Connection.OnMessageDropped(msg.Subject, _channel.Reader.Count);
    }

    internal override void Complete(Exception? error) => _channel.Writer.TryComplete(error);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => UnsubscribeAsync();
}
