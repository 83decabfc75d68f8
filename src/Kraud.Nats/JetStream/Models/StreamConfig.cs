using System.Text.Json.Serialization;

namespace Kraud.Nats.JetStream.Models;

/// <summary>A stream's configuration (nats-server 2.9.10 fields). Limits of -1 mean unlimited.</summary>
public sealed record StreamConfig
{
    /// <summary>Empty config (set <see cref="Name"/>).</summary>
    public StreamConfig() { }

    /// <summary>A config with a name and subjects.</summary>
    public StreamConfig(string name, IEnumerable<string> subjects)
    {
        Name = name;
        Subjects = [.. subjects];
    }

    /// <summary>Stream name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>Subjects stored.</summary>
    public List<string>? Subjects { get; init; }
    /// <summary>Retention policy.</summary>
    public StreamConfigRetention Retention { get; init; }
    /// <summary>Maximum consumers.</summary>
    public long MaxConsumers { get; init; } = -1;
    /// <summary>Maximum messages.</summary>
    public long MaxMsgs { get; init; } = -1;
    /// <summary>Maximum bytes.</summary>
    public long MaxBytes { get; init; } = -1;
    /// <summary>Maximum age (zero: forever).</summary>
    [JsonConverter(typeof(NanosecondsConverter))] public TimeSpan MaxAge { get; init; }
    /// <summary>Messages kept per subject.</summary>
    public long MaxMsgsPerSubject { get; init; } = -1;
    /// <summary>Largest message.</summary>
    public int MaxMsgSize { get; init; } = -1;
    /// <summary>Discard policy.</summary>
    public StreamConfigDiscard Discard { get; init; }
    /// <summary>Storage.</summary>
    public StreamConfigStorage Storage { get; init; }
    /// <summary>Replicas (1 on a single server).</summary>
    public int NumReplicas { get; init; } = 1;
    /// <summary>Do not ack publishes.</summary>
    public bool NoAck { get; init; }
    /// <summary>Nats-Msg-Id de-duplication window (zero: server default, 2 min).</summary>
    [JsonConverter(typeof(NanosecondsConverter))] public TimeSpan DuplicateWindow { get; init; }
    /// <summary>Placement.</summary>
    public Placement? Placement { get; init; }
    /// <summary>Mirror source.</summary>
    public StreamSource? Mirror { get; init; }
    /// <summary>Sources (never into a discard_new_per_subject workqueue on 2.9.10).</summary>
    public List<StreamSource>? Sources { get; init; }
    /// <summary>Allow $JS.API.DIRECT.GET.</summary>
    public bool AllowDirect { get; init; }
    /// <summary>Mirror direct get.</summary>
    public bool MirrorDirect { get; init; }
    /// <summary>With discard new: refuse a publish to a full subject (10077) instead of replacing.</summary>
    public bool DiscardNewPerSubject { get; init; }
    /// <summary>Sealed.</summary>
    public bool Sealed { get; init; }
    /// <summary>Deny message deletes.</summary>
    public bool DenyDelete { get; init; }
    /// <summary>Deny purges.</summary>
    public bool DenyPurge { get; init; }
    /// <summary>Allow Nats-Rollup headers.</summary>
    public bool AllowRollupHdrs { get; init; }
}

/// <summary>Stream placement.</summary>
public sealed record Placement
{
    /// <summary>Cluster name.</summary>
    public string? Cluster { get; init; }
    /// <summary>Server tags.</summary>
    public List<string>? Tags { get; init; }
}

/// <summary>A mirror or source.</summary>
public sealed record StreamSource
{
    /// <summary>Source stream name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Start sequence.</summary>
    public ulong? OptStartSeq { get; init; }
    /// <summary>Start time.</summary>
    public DateTimeOffset? OptStartTime { get; init; }
    /// <summary>Filter.</summary>
    public string? FilterSubject { get; init; }
}
