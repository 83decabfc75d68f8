using Kraud.Agent.Config;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.ControlPlane;

/// <summary>The streams, consumers and buckets of contract sections 1, 3, 4 and 5, for one host.</summary>
public sealed class StreamLayout(AgentConfig config)
{
    public const string Desired = "KRAUD_DESIRED", Work = "KRAUD_WORK", StatusBucket = "KRAUD_STATUS", HostsBucket = "KRAUD_HOSTS";
    public static readonly TimeSpan AckWait = TimeSpan.FromSeconds(30);

    public string Host => config.Host;
    public string DispatchConsumer => $"dispatch-{config.Host}";
    public string WorkConsumer => $"work-{config.Host}";

    public StreamConfig DesiredStream => new(Desired, ["kraud.desired.>"])
    {
        Retention = StreamConfigRetention.Limits,
        MaxMsgsPerSubject = 1,
        Discard = StreamConfigDiscard.Old,
        Storage = StreamConfigStorage.File,
        NumReplicas = config.Replicas,
        DuplicateWindow = TimeSpan.FromMinutes(2),
    };

    public StreamConfig WorkStream => new(Work, ["kraud.work.>"])
    {
        Retention = StreamConfigRetention.Workqueue,
        MaxMsgsPerSubject = 1,
        Discard = StreamConfigDiscard.New,
        DiscardNewPerSubject = true,
        DuplicateWindow = TimeSpan.FromMinutes(2),
        Storage = StreamConfigStorage.File,
        NumReplicas = config.Replicas,
    };

    public ConsumerConfig DispatchConsumerConfig => new(DispatchConsumer)
    {
        DurableName = DispatchConsumer,
        // The dispatcher needs only each desired message's subject and sequence: the server sends the headers
        // alone, so a 10 MiB envelope never crosses the wire to it.
        HeadersOnly = true,
        FilterSubject = $"kraud.desired.{config.Host}.>",
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        DeliverPolicy = ConsumerConfigDeliverPolicy.All,
        AckWait = AckWait,
        MaxDeliver = -1,
        MaxAckPending = 1024,
    };

    public ConsumerConfig WorkConsumerConfig => new(WorkConsumer)
    {
        DurableName = WorkConsumer,
        FilterSubject = $"kraud.work.{config.Host}.>",
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        DeliverPolicy = ConsumerConfigDeliverPolicy.All,
        AckWait = AckWait,
        MaxDeliver = -1,
        MaxAckPending = config.Concurrency,
    };

    public NatsKVConfig Bucket(string name) => new(name) { History = 1, Storage = NatsKVStorageType.File, NumberOfReplicas = config.Replicas };

    /// <summary>The fields of a stream the contract fixes, for comparing with what the server has.</summary>
    public static IEnumerable<(string Field, string Value)> Fingerprint(StreamConfig c)
    {
        yield return ("subjects", string.Join(",", c.Subjects ?? []));
        yield return ("retention", c.Retention.ToString().ToLowerInvariant());
        yield return ("max_msgs_per_subject", c.MaxMsgsPerSubject.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return ("discard", c.Discard.ToString().ToLowerInvariant());
        yield return ("discard_new_per_subject", c.DiscardNewPerSubject ? "true" : "false");
        yield return ("storage", c.Storage.ToString().ToLowerInvariant());
        yield return ("num_replicas", c.NumReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (c.Retention == StreamConfigRetention.Workqueue) yield return ("duplicate_window", c.DuplicateWindow.ToString());
    }
}
