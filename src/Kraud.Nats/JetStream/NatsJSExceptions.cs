using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

/// <summary>Base of JetStream errors.</summary>
public class NatsJSException(string message, Exception? inner = null) : NatsException(message, inner);

/// <summary>
/// The JetStream API (or a publish ack) returned an error. <see cref="ErrCode"/> is the stable JetStream code,
/// e.g. 10077 "maximum messages per subject exceeded" (busy), 10071 wrong last sequence, 10059 stream not found.
/// </summary>
public sealed class NatsJSApiException(ApiError error)
    : NatsJSException($"JetStream API error {error.Code}/{error.ErrCode}: {error.Description}")
{
    /// <summary>The error as returned.</summary>
    public ApiError Error { get; } = error;

    /// <summary>HTTP-like code.</summary>
    public int Code => Error.Code;

    /// <summary>JetStream error code.</summary>
    public int ErrCode => Error.ErrCode;

    /// <summary>Error text.</summary>
    public string Description => Error.Description;
}

/// <summary>A pull ended with a terminal status (consumer deleted, push based, bad request).</summary>
public sealed class NatsJSProtocolException(int code, string text)
    : NatsJSException($"JetStream pull ended with status {code} {text}")
{
    /// <summary>Status code.</summary>
    public int Code { get; } = code;

    /// <summary>Status text.</summary>
    public string Text { get; } = text;
}

/// <summary>An ack sent as a request (+ACK, +WPI, +TERM, -NAK) was not confirmed by the server in time.</summary>
public sealed class NatsJSAckNotConfirmedException(string verb, string subject, Exception inner)
    : NatsJSException($"{verb} on '{subject}' was not confirmed: {inner.Message}", inner);
