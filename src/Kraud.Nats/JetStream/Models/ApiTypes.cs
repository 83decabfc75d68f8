namespace Kraud.Nats.JetStream.Models;

/// <summary>The error object of a JetStream API response.</summary>
public sealed record ApiError
{
    /// <summary>HTTP-like code (400, 404, 503...).</summary>
    public int Code { get; init; }
    /// <summary>JetStream error code (e.g. 10077, 10071, 10059).</summary>
    public int ErrCode { get; init; }
    /// <summary>Text.</summary>
    public string Description { get; init; } = "";
}

/// <summary>Publish acknowledgement.</summary>
public sealed record PubAckResponse
{
    /// <summary>Error when the stream refused the message.</summary>
    public ApiError? Error { get; init; }
    /// <summary>Stream that stored it.</summary>
    public string? Stream { get; init; }
    /// <summary>Stream sequence.</summary>
    public ulong Seq { get; init; }
    /// <summary>True when the Nats-Msg-Id was already seen in the duplicate window (Seq is the original's).</summary>
    public bool Duplicate { get; init; }
    /// <summary>JetStream domain.</summary>
    public string? Domain { get; init; }

    /// <summary>Throws <see cref="NatsJSApiException"/> when the publish was refused.</summary>
    public PubAckResponse EnsureSuccess() => Error is null ? this : throw new NatsJSApiException(Error);

    /// <summary>True when stored (or a duplicate).</summary>
    public bool IsSuccess => Error is null;
}

/// <summary>Probe for the error object of any API response.</summary>
internal sealed record ApiErrorResponse
{
    public ApiError? Error { get; init; }
}

/// <summary>STREAM.INFO request body.</summary>
public sealed record StreamInfoRequest
{
    /// <summary>Return per-subject counts for subjects matching this filter.</summary>
    public string? SubjectsFilter { get; init; }
    /// <summary>Return deleted sequences.</summary>
    public bool? DeletedDetails { get; init; }
}

/// <summary>STREAM.PURGE request body.</summary>
public sealed record StreamPurgeRequest
{
    /// <summary>Purge only this subject (filter).</summary>
    public string? Filter { get; init; }
    /// <summary>Purge up to (not including) this sequence.</summary>
    public ulong? Seq { get; init; }
    /// <summary>Keep this many newest messages.</summary>
    public ulong? Keep { get; init; }
}

internal sealed record StreamPurgeResponse
{
    public bool Success { get; init; }
    public ulong Purged { get; init; }
}

internal sealed record SuccessResponse
{
    public bool Success { get; init; }
}

/// <summary>STREAM.MSG.GET request body: one of the fields.</summary>
public sealed record StreamMsgGetRequest
{
    /// <summary>By sequence.</summary>
    public ulong? Seq { get; init; }
    /// <summary>Last message on this subject.</summary>
    public string? LastBySubj { get; init; }
    /// <summary>Next message on this subject from <see cref="Seq"/>.</summary>
    public string? NextBySubj { get; init; }
}

internal sealed record StreamMsgGetResponse
{
    public StoredMessage? Message { get; init; }
}

internal sealed record StoredMessage
{
    public string Subject { get; init; } = "";
    public ulong Seq { get; init; }
    public byte[]? Hdrs { get; init; }
    public byte[]? Data { get; init; }
    public DateTimeOffset Time { get; init; }
}

internal sealed record StreamMsgDeleteRequest
{
    public ulong Seq { get; init; }
    public bool? NoErase { get; init; }
}

internal sealed record ConsumerCreateRequest
{
    public string StreamName { get; init; } = "";
    public ConsumerConfig Config { get; init; } = new();
}

/// <summary>MSG.NEXT pull request body; durations in nanoseconds.</summary>
internal sealed record PullRequest
{
    public int Batch { get; init; }
    public long? Expires { get; init; }
    public bool? NoWait { get; init; }
    public long? MaxBytes { get; init; }
    public long? IdleHeartbeat { get; init; }
}

internal sealed record NakDelay
{
    public long Delay { get; init; }
}

/// <summary>Account information ($JS.API.INFO).</summary>
public sealed record AccountInfo
{
    /// <summary>Memory used.</summary>
    public ulong Memory { get; init; }
    /// <summary>Storage used.</summary>
    public ulong Storage { get; init; }
    /// <summary>Streams.</summary>
    public long Streams { get; init; }
    /// <summary>Consumers.</summary>
    public long Consumers { get; init; }
}

internal sealed record EmptyRequest;
