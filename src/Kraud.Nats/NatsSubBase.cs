using Kraud.Nats.Internal;
using System.Text;

namespace Kraud.Nats;

/// <summary>A subscription registered on a connection (re-sent after every reconnect until unsubscribed).</summary>
public abstract class NatsSubBase
{
    private string? _lastSubject;
    private byte[] _lastSubjectBytes = [];

    internal NatsSubBase(NatsConnection connection, string subject, string? queueGroup)
    {
        ProtocolEncoder.ValidateSubject(subject);
        Connection = connection;
        Subject = subject;
        QueueGroup = queueGroup;
    }

    /// <summary>The connection it belongs to.</summary>
    public NatsConnection Connection { get; }

    /// <summary>The subscribed subject (may contain wildcards).</summary>
    public string Subject { get; }

    /// <summary>Queue group, or null.</summary>
    public string? QueueGroup { get; }

    internal long Sid { get; set; }

    /// <summary>Called on the reader loop for each message: must not block.</summary>
    internal abstract void Receive(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size);

    /// <summary>Called when the subscription ends (unsubscribe or connection closed).</summary>
    internal virtual void Complete(Exception? error) { }

    /// <summary>Builds a message; the subject string is reused while it repeats (no allocation for literal subscriptions).</summary>
    internal NatsMsg Materialize(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size)
    {
        string subj;
        if (_lastSubject is not null && subject.SequenceEqual(_lastSubjectBytes)) subj = _lastSubject;
        else
        {
            subj = Encoding.UTF8.GetString(subject);
            _lastSubject = subj;
            _lastSubjectBytes = subject.ToArray();
        }
        var reply = replyTo.IsEmpty ? null : Encoding.UTF8.GetString(replyTo);
        var hdrs = headers.IsEmpty ? null : HeaderParser.Parse(headers);
        var data = payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : payload.ToArray();
        return new NatsMsg(subj, reply, hdrs, data, size, Connection);
    }

    /// <summary>Stops the subscription (UNSUB) and completes its reader.</summary>
    public ValueTask UnsubscribeAsync()
    {
        Connection.RemoveSub(this);
        Complete(null);
        return default;
    }
}
