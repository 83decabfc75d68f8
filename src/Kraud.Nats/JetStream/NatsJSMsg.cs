using System.Globalization;
using System.Text;

namespace Kraud.Nats.JetStream;

/// <summary>
/// A message delivered by a consumer, with the ack verbs. With DoubleAck (the default) every verb is a
/// request the server confirms; a missing confirmation throws <see cref="NatsJSAckNotConfirmedException"/>
/// (or makes the Try* forms return false) — the sign that a hold may be lost.
/// </summary>
public readonly struct NatsJSMsg
{
    private static readonly byte[] Ack = "+ACK"u8.ToArray();
    private static readonly byte[] Wpi = "+WPI"u8.ToArray();
    private static readonly byte[] Term = "+TERM"u8.ToArray();
    private static readonly byte[] Nak = "-NAK"u8.ToArray();

    internal NatsJSMsg(NatsMsg msg, NatsJSContext context)
    {
        Msg = msg;
        Context = context;
    }

    /// <summary>The underlying core message.</summary>
    public NatsMsg Msg { get; }

    /// <summary>The context it came through.</summary>
    public NatsJSContext Context { get; }

    /// <summary>The stream subject.</summary>
    public string Subject => Msg.Subject;

    /// <summary>The ack subject.</summary>
    public string? ReplyTo => Msg.ReplyTo;

    /// <summary>Headers as published.</summary>
    public NatsHeaders? Headers => Msg.Headers;

    /// <summary>Payload.</summary>
    public ReadOnlyMemory<byte> Data => Msg.Data;

    /// <summary>Bytes on the wire.</summary>
    public int Size => Msg.Size;

    /// <summary>Delivery metadata from the ack subject (parsed on each access: keep the value).</summary>
    public NatsJSMsgMetadata? Metadata => NatsJSMsgMetadata.Parse(Msg.ReplyTo);

    /// <summary>+ACK: done; the message is removed from a workqueue stream.</summary>
    public ValueTask AckAsync(NatsJSAckOpts? opts = null, CancellationToken cancellationToken = default) => SendAsync(Ack, "+ACK", opts, cancellationToken);

    /// <summary>+WPI: still working; restarts the ack_wait timer.</summary>
    public ValueTask AckProgressAsync(NatsJSAckOpts? opts = null, CancellationToken cancellationToken = default) => SendAsync(Wpi, "+WPI", opts, cancellationToken);

    /// <summary>+TERM: never redeliver (counts as an ack on a workqueue).</summary>
    public ValueTask AckTerminateAsync(NatsJSAckOpts? opts = null, CancellationToken cancellationToken = default) => SendAsync(Term, "+TERM", opts, cancellationToken);

    /// <summary>-NAK: redeliver, after <paramref name="delay"/> when it is positive (a plain -NAK redelivers at once).</summary>
    public ValueTask NakAsync(TimeSpan delay = default, NatsJSAckOpts? opts = null, CancellationToken cancellationToken = default)
    {
        var payload = delay > TimeSpan.Zero
            ? Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"-NAK {{\"delay\": {delay.Ticks * 100}}}"))
            : Nak;
        return SendAsync(payload, "-NAK", opts, cancellationToken);
    }

    /// <summary>Confirmed +ACK; false when the server did not confirm within the timeout.</summary>
    public ValueTask<bool> TryAckAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        TrySendAsync(Ack, "+ACK", timeout, cancellationToken);

    /// <summary>Confirmed +WPI; false when the server did not confirm within the timeout (the hold may be lost).</summary>
    public ValueTask<bool> TryAckProgressAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        TrySendAsync(Wpi, "+WPI", timeout, cancellationToken);

    private async ValueTask<bool> TrySendAsync(byte[] payload, string verb, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(payload, verb, new NatsJSAckOpts { DoubleAck = true, Timeout = timeout }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NatsJSAckNotConfirmedException)
        {
            return false;
        }
    }

    private async ValueTask SendAsync(byte[] payload, string verb, NatsJSAckOpts? opts, CancellationToken cancellationToken)
    {
        var reply = Msg.ReplyTo ?? throw new NatsJSException($"message on '{Msg.Subject}' has no ack subject");
        var conn = Context.Connection;
        if (!(opts?.DoubleAck ?? Context.Opts.DoubleAck))
        {
            await conn.PublishAsync(reply, payload, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            await conn.RequestAsync(reply, payload, null, opts?.Timeout ?? Context.Opts.AckTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsException e) when (e is not NatsConnectionClosedException)
        {
            // No reply in time, no responders, or the reconnect buffer is full: not confirmed either way.
            throw new NatsJSAckNotConfirmedException(verb, reply, e);
        }
    }
}
