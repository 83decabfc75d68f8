using Kraud.Nats.Internal;

namespace Kraud.Nats;

public sealed partial class NatsConnection
{
    private InboxMux? _mux;
    private readonly object _muxLock = new();

    private InboxMux Mux()
    {
        var mux = Volatile.Read(ref _mux);
        if (mux is not null) return mux;
        lock (_muxLock)
        {
            if (_mux is not null) return _mux;
            mux = new InboxMux(this, $"{Opts.InboxPrefix}.{Nuid.Next()}.");
            AddSub(mux);
            Volatile.Write(ref _mux, mux);
            return mux;
        }
    }

    /// <summary>
    /// Request/reply over the shared inbox. Throws <see cref="NatsNoRespondersException"/> on a 503 status
    /// and <see cref="NatsNoReplyException"/> when no reply comes within <paramref name="timeout"/>
    /// (default <see cref="NatsOpts.RequestTimeout"/>).
    /// </summary>
    public async ValueTask<NatsMsg> RequestAsync(string subject, ReadOnlyMemory<byte> data = default, NatsHeaders? headers = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        var wait = timeout ?? Opts.RequestTimeout;
        var mux = Mux();
        var (token, replyTo, reply) = mux.Register();
        NatsMsg msg;
        try
        {
            EnqueuePublish(subject, replyTo, headers, data.Span, flushInline: true);
            msg = await reply.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new NatsNoReplyException(subject, wait);
        }
        finally
        {
            mux.Forget(token);
        }
        if (msg.Headers is { Code: 503 }) throw new NatsNoRespondersException(subject);
        return msg;
    }
}
