using System.Text.Json.Serialization;

namespace Kraud.Nats.JetStream.Models;

/// <summary>A consumer's configuration (nats-server 2.9.10 fields). Zero values take the server defaults.</summary>
public sealed record ConsumerConfig
{
    /// <summary>Empty (ephemeral) config.</summary>
    public ConsumerConfig() { }

    /// <summary>A durable consumer with this name.</summary>
    public ConsumerConfig(string durableName)
    {
        DurableName = durableName;
        Name = durableName;
    }

    /// <summary>Durable name (omit for ephemeral).</summary>
    public string? DurableName { get; init; }
    /// <summary>Name (equals the durable name when both are set).</summary>
    public string? Name { get; init; }
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>Where to start.</summary>
    public ConsumerConfigDeliverPolicy DeliverPolicy { get; init; }
    /// <summary>Start sequence for by_start_sequence.</summary>
    public ulong? OptStartSeq { get; init; }
    /// <summary>Start time for by_start_time.</summary>
    public DateTimeOffset? OptStartTime { get; init; }
    /// <summary>Ack policy (explicit by default).</summary>
    public ConsumerConfigAckPolicy AckPolicy { get; init; } = ConsumerConfigAckPolicy.Explicit;
    /// <summary>Time a delivered message may stay unacked before redelivery (zero: 30 s).</summary>
    [JsonConverter(typeof(NanosecondsConverter))] public TimeSpan AckWait { get; init; }
    /// <summary>Deliveries per message (-1 unlimited; zero: server default -1).</summary>
    public long MaxDeliver { get; init; }
    /// <summary>Redelivery back-off in nanoseconds.</summary>
    public List<long>? Backoff { get; init; }
    /// <summary>Subject filter (one; 2.9.10 has no filter_subjects).</summary>
    public string? FilterSubject { get; init; }
    /// <summary>Replay policy.</summary>
    public ConsumerConfigReplayPolicy ReplayPolicy { get; init; }
    /// <summary>Rate limit (push).</summary>
    public ulong RateLimitBps { get; init; }
    /// <summary>Concurrent pull requests (zero: 512).</summary>
    public long MaxWaiting { get; init; }
    /// <summary>Unacked messages outstanding (zero: 1000).</summary>
    public long MaxAckPending { get; init; }
    /// <summary>Push idle heartbeat.</summary>
    [JsonConverter(typeof(NanosecondsConverter))] public TimeSpan IdleHeartbeat { get; init; }
    /// <summary>Push flow control.</summary>
    public bool FlowControl { get; init; }
    /// <summary>Deliver headers only.</summary>
    public bool HeadersOnly { get; init; }
    /// <summary>Largest pull batch.</summary>
    public long MaxBatch { get; init; }
    /// <summary>Longest pull expiry.</summary>
    [JsonConverter(typeof(NanosecondsConverter))] public TimeSpan MaxExpires { get; init; }
    /// <summary>Largest pull max_bytes.</summary>
    public long MaxBytes { get; init; }
    /// <summary>Push deliver subject (pull consumer when null).</summary>
    public string? DeliverSubject { get; init; }
    /// <summary>Push queue group.</summary>
    public string? DeliverGroup { get; init; }
    /// <summary>Delete after this much inactivity (never set it on a durable work consumer).</summary>
    [JsonConverter(typeof(NanosecondsConverter))] public TimeSpan InactiveThreshold { get; init; }
    /// <summary>Replicas (zero: the stream's).</summary>
    public int NumReplicas { get; init; }
    /// <summary>Keep consumer state in memory.</summary>
    public bool MemStorage { get; init; }
}
