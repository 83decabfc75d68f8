namespace Kraud.Nats.Internal;

/// <summary>Encodes client protocol operations (PUB, HPUB, SUB, UNSUB, PING, PONG, CONNECT).</summary>
internal static class ProtocolEncoder
{
    public static void Pub(CommandBuffer b, string subject, string? replyTo, NatsHeaders? headers, int headerLength, ReadOnlySpan<byte> data)
    {
        if (headers is null)
        {
            b.Write("PUB "u8);
            b.WriteString(subject);
            if (replyTo is not null) { b.Space(); b.WriteString(replyTo); }
            b.Space();
            b.WriteNumber(data.Length);
            b.Crlf();
        }
        else
        {
            b.Write("HPUB "u8);
            b.WriteString(subject);
            if (replyTo is not null) { b.Space(); b.WriteString(replyTo); }
            b.Space();
            b.WriteNumber(headerLength);
            b.Space();
            b.WriteNumber(headerLength + data.Length);
            b.Crlf();
            headers.WriteTo(b.GetSpan(headerLength));
            b.Advance(headerLength);
        }
        b.Write(data);
        b.Crlf();
    }

    public static void Sub(CommandBuffer b, string subject, string? queueGroup, long sid)
    {
        b.Write("SUB "u8);
        b.WriteString(subject);
        if (!string.IsNullOrEmpty(queueGroup)) { b.Space(); b.WriteString(queueGroup); }
        b.Space();
        b.WriteNumber(sid);
        b.Crlf();
    }

    public static void Unsub(CommandBuffer b, long sid)
    {
        b.Write("UNSUB "u8);
        b.WriteNumber(sid);
        b.Crlf();
    }

    public static void Ping(CommandBuffer b)
    {
        b.Write("PING\r\n"u8);
        b.PingCount++;
    }

    public static void Pong(CommandBuffer b) => b.Write("PONG\r\n"u8);

    public static void Connect(CommandBuffer b, ReadOnlySpan<byte> json)
    {
        b.Write("CONNECT "u8);
        b.Write(json);
        b.Crlf();
    }

    /// <summary>Rejects subjects the server would refuse (empty, whitespace) before anything is sent.</summary>
    public static void ValidateSubject(string subject)
    {
        if (string.IsNullOrEmpty(subject)) throw new NatsException("subject is empty");
        foreach (var c in subject)
            if (c <= ' ') throw new NatsException($"subject '{subject}' contains whitespace or control characters");
    }
}
