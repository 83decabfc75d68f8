using System.Runtime.CompilerServices;
using Kraud.Nats.JetStream.Internal;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

/// <summary>A pull consumer: fetch a batch, take the next message, or consume continuously.</summary>
public sealed class NatsJSConsumer
{
    private readonly NatsJSContext _js;

    internal NatsJSConsumer(NatsJSContext js, ConsumerInfo info)
    {
        _js = js;
        Info = info;
    }

    /// <summary>Info as of the last refresh.</summary>
    public ConsumerInfo Info { get; private set; }

    /// <summary>Stream name.</summary>
    public string StreamName => Info.StreamName;

    /// <summary>Consumer name.</summary>
    public string Name => Info.Name;

    /// <summary>Reloads <see cref="Info"/>.</summary>
    public async ValueTask RefreshAsync(CancellationToken cancellationToken = default) =>
        Info = (await _js.GetConsumerAsync(StreamName, Name, cancellationToken).ConfigureAwait(false)).Info;

    /// <summary>
    /// One pull request: yields up to MaxMsgs messages, ending on expiry, 404/408, or a full batch.
    /// A request lost to a reconnect or missed heartbeats is re-issued for the rest of the batch and time.
    /// Messages delivered but not taken when the caller stops early (cancellation, break) are NAKed, so they
    /// come back at once instead of after ack_wait.
    /// </summary>
    public async IAsyncEnumerable<NatsJSMsg> FetchAsync(NatsJSFetchOpts? opts = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sub = PullSub.ForFetch(_js, StreamName, Name, opts ?? new NatsJSFetchOpts());
        await sub.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await foreach (var m in sub.Msgs.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // A channel hands out what it holds without looking at the token: once cancelled, take nothing more.
                if (cancellationToken.IsCancellationRequested)
                {
                    sub.Nak(m);
                    cancellationToken.ThrowIfCancellationRequested();
                }
                yield return m;
            }
        }
        finally
        {
            sub.Finish(null);
            sub.NakUnread();
        }
    }

    /// <summary>The next message, or null when none came within the expiry.</summary>
    public async ValueTask<NatsJSMsg?> NextAsync(TimeSpan? expires = null, CancellationToken cancellationToken = default)
    {
        await foreach (var m in FetchAsync(new NatsJSFetchOpts { MaxMsgs = 1, Expires = expires ?? TimeSpan.FromSeconds(30) }, cancellationToken).ConfigureAwait(false))
            return m;
        return null;
    }

    /// <summary>
    /// Continuous pull: keeps MaxMsgs requested, pulls more at the threshold, re-issues after reconnects
    /// and missed heartbeats. Ends on cancellation (unread messages are NAKed) or a terminal 409 (throws).
    /// </summary>
    public async IAsyncEnumerable<NatsJSMsg> ConsumeAsync(NatsJSConsumeOpts? opts = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sub = PullSub.ForConsume(_js, StreamName, Name, opts ?? new NatsJSConsumeOpts());
        await sub.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                bool more;
                try { more = await sub.Msgs.WaitToReadAsync(cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { yield break; }
                if (!more) yield break;
                while (!cancellationToken.IsCancellationRequested && sub.Msgs.TryRead(out var m)) yield return m;
            }
        }
        finally
        {
            sub.Finish(null);
            sub.NakUnread();
        }
    }
}
