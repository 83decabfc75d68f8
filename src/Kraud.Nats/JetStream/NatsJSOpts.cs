namespace Kraud.Nats.JetStream;

/// <summary>JetStream context options.</summary>
public sealed record NatsJSOpts
{
    /// <summary>Defaults.</summary>
    public static readonly NatsJSOpts Default = new();

    /// <summary>API prefix ("$JS.API", or "$JS.&lt;domain&gt;.API").</summary>
    public string ApiPrefix { get; init; } = "$JS.API";

    /// <summary>Timeout of API calls and publish acks.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Send acks as requests the server confirms (default on: a lost hold must be noticed).</summary>
    public bool DoubleAck { get; init; } = true;

    /// <summary>How long a confirmed ack waits for the server.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Per-publish options; each set field becomes a header the server checks.</summary>
public sealed record NatsJSPubOpts
{
    /// <summary>Nats-Msg-Id: de-duplication within the stream's duplicate window.</summary>
    public string? MsgId { get; init; }
    /// <summary>Nats-Expected-Stream.</summary>
    public string? ExpectedStream { get; init; }
    /// <summary>Nats-Expected-Last-Msg-Id.</summary>
    public string? ExpectedLastMsgId { get; init; }
    /// <summary>Nats-Expected-Last-Sequence.</summary>
    public ulong? ExpectedLastSequence { get; init; }
    /// <summary>Nats-Expected-Last-Subject-Sequence (0: no message on the subject yet).</summary>
    public ulong? ExpectedLastSubjectSequence { get; init; }
    /// <summary>Extra tries when no stream answered (503), e.g. during a leader election.</summary>
    public int RetryAttempts { get; init; } = 8;
    /// <summary>Wait between those tries.</summary>
    public TimeSpan RetryWaitBetweenAttempts { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Ack timeout (default the context's request timeout).</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>Options of one ack call.</summary>
public sealed record NatsJSAckOpts
{
    /// <summary>Send as a request and wait for the server's confirmation (default: the context's DoubleAck).</summary>
    public bool? DoubleAck { get; init; }
    /// <summary>Confirmation timeout (default: the context's AckTimeout).</summary>
    public TimeSpan? Timeout { get; init; }
}
