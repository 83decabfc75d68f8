using System.Runtime.CompilerServices;

namespace Kraud.Nats;

public sealed partial class NatsConnection
{
    /// <summary>Subscribes; read messages from <see cref="NatsSub.Msgs"/> and dispose to unsubscribe.</summary>
    public async ValueTask<NatsSub> SubscribeCoreAsync(string subject, string? queueGroup = null, CancellationToken cancellationToken = default)
    {
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        var sub = new NatsSub(this, subject, queueGroup, Opts.SubPendingChannelCapacity);
        AddSub(sub);
        return sub;
    }

    /// <summary>Subscribes and yields messages until cancelled; unsubscribes when the enumeration ends.</summary>
    public async IAsyncEnumerable<NatsMsg> SubscribeAsync(string subject, string? queueGroup = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var sub = await SubscribeCoreAsync(subject, queueGroup, cancellationToken).ConfigureAwait(false);
        while (await sub.Msgs.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (sub.Msgs.TryRead(out var msg)) yield return msg;
        }
    }

    /// <summary>Registers an internal subscription (JetStream pulls, KV watchers).</summary>
    internal async ValueTask SubscribeInternalAsync(NatsSubBase sub, CancellationToken cancellationToken)
    {
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        AddSub(sub);
    }
}
