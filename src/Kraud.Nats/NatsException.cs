namespace Kraud.Nats;

/// <summary>Base of every error this client throws.</summary>
public class NatsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A request found no subscriber (503 status from the server).</summary>
public sealed class NatsNoRespondersException(string subject) : NatsException($"no responders on '{subject}'")
{
    /// <summary>The request subject.</summary>
    public string Subject { get; } = subject;
}

/// <summary>A request got no reply within its timeout.</summary>
public sealed class NatsNoReplyException(string subject, TimeSpan timeout)
    : NatsException($"no reply on '{subject}' within {timeout.TotalMilliseconds:0} ms")
{
    /// <summary>The request subject.</summary>
    public string Subject { get; } = subject;
}

/// <summary>A publish larger than the server's max_payload (headers + data); nothing was sent.</summary>
public sealed class NatsPayloadTooLargeException(string subject, long size, long maxPayload)
    : NatsException($"message on '{subject}' is {size} bytes (headers + data), over the server's max_payload of {maxPayload}")
{
    /// <summary>Header plus payload bytes.</summary>
    public long Size { get; } = size;

    /// <summary>The server's limit.</summary>
    public long MaxPayload { get; } = maxPayload;
}

/// <summary>The connection is closed (disposed or gave up reconnecting).</summary>
public sealed class NatsConnectionClosedException(string message) : NatsException(message);
