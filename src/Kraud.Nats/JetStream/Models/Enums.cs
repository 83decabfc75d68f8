using System.Text.Json.Serialization;

namespace Kraud.Nats.JetStream.Models;

/// <summary>Stream retention.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StreamConfigRetention>))]
public enum StreamConfigRetention
{
    /// <summary>Keep until limits.</summary>
    [JsonStringEnumMemberName("limits")] Limits,
    /// <summary>Keep while consumers are interested.</summary>
    [JsonStringEnumMemberName("interest")] Interest,
    /// <summary>Remove on ack (one consumer per subject).</summary>
    [JsonStringEnumMemberName("workqueue")] Workqueue,
}

/// <summary>Stream storage.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StreamConfigStorage>))]
public enum StreamConfigStorage
{
    /// <summary>On disk.</summary>
    [JsonStringEnumMemberName("file")] File,
    /// <summary>In memory.</summary>
    [JsonStringEnumMemberName("memory")] Memory,
}

/// <summary>What happens when a limit is reached.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StreamConfigDiscard>))]
public enum StreamConfigDiscard
{
    /// <summary>Drop the oldest message.</summary>
    [JsonStringEnumMemberName("old")] Old,
    /// <summary>Refuse the new message.</summary>
    [JsonStringEnumMemberName("new")] New,
}

/// <summary>Where a consumer starts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ConsumerConfigDeliverPolicy>))]
public enum ConsumerConfigDeliverPolicy
{
    /// <summary>From the first message.</summary>
    [JsonStringEnumMemberName("all")] All,
    /// <summary>From the last message.</summary>
    [JsonStringEnumMemberName("last")] Last,
    /// <summary>Only new messages.</summary>
    [JsonStringEnumMemberName("new")] New,
    /// <summary>From <see cref="ConsumerConfig.OptStartSeq"/>.</summary>
    [JsonStringEnumMemberName("by_start_sequence")] ByStartSequence,
    /// <summary>From <see cref="ConsumerConfig.OptStartTime"/>.</summary>
    [JsonStringEnumMemberName("by_start_time")] ByStartTime,
    /// <summary>The last message of each subject (needs a filter).</summary>
    [JsonStringEnumMemberName("last_per_subject")] LastPerSubject,
}

/// <summary>How messages are acknowledged.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ConsumerConfigAckPolicy>))]
public enum ConsumerConfigAckPolicy
{
    /// <summary>No acks.</summary>
    [JsonStringEnumMemberName("none")] None,
    /// <summary>An ack acks everything before it.</summary>
    [JsonStringEnumMemberName("all")] All,
    /// <summary>Every message is acked on its own.</summary>
    [JsonStringEnumMemberName("explicit")] Explicit,
}

/// <summary>Replay speed.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ConsumerConfigReplayPolicy>))]
public enum ConsumerConfigReplayPolicy
{
    /// <summary>As fast as possible.</summary>
    [JsonStringEnumMemberName("instant")] Instant,
    /// <summary>At the original pace.</summary>
    [JsonStringEnumMemberName("original")] Original,
}
