using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.KeyValue;

/// <summary>A bucket's configuration (a stream KV_&lt;bucket&gt; underneath).</summary>
public sealed record NatsKVConfig
{
    /// <summary>A bucket named <paramref name="bucket"/> with defaults.</summary>
    public NatsKVConfig(string bucket) => Bucket = bucket;

    /// <summary>Bucket name ([A-Za-z0-9_-]+).</summary>
    public string Bucket { get; init; }
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>Revisions kept per key (1..64).</summary>
    public int History { get; init; } = 1;
    /// <summary>Age after which values expire (bucket-wide on 2.9.10); zero keeps them.</summary>
    public TimeSpan MaxAge { get; init; }
    /// <summary>Bucket size limit; -1 unlimited.</summary>
    public long MaxBytes { get; init; } = -1;
    /// <summary>Largest value; -1 unlimited.</summary>
    public int MaxValueSize { get; init; } = -1;
    /// <summary>Storage.</summary>
    public StreamConfigStorage Storage { get; init; } = StreamConfigStorage.File;
    /// <summary>Replicas.</summary>
    public int NumberOfReplicas { get; init; } = 1;

    /// <summary>The stream config that implements the bucket (as ADR-8 / NATS.Net do it on 2.9).</summary>
    internal StreamConfig ToStreamConfig()
    {
        if (History is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(History), "history must be 1..64");
        var dup = TimeSpan.FromMinutes(2);
        if (MaxAge > TimeSpan.Zero && MaxAge < dup) dup = MaxAge;
        return new StreamConfig($"KV_{Bucket}", [$"$KV.{Bucket}.>"])
        {
            Description = Description,
            Retention = StreamConfigRetention.Limits,
            MaxMsgsPerSubject = History,
            MaxAge = MaxAge,
            MaxBytes = MaxBytes,
            MaxMsgSize = MaxValueSize,
            Storage = Storage,
            Discard = StreamConfigDiscard.New,
            NumReplicas = NumberOfReplicas,
            DuplicateWindow = dup,
            AllowRollupHdrs = true,
            DenyDelete = true,
            AllowDirect = true,
        };
    }
}
