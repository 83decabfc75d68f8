using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Volume.Replication;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>
/// Replication end to end, as issue 16's acceptance asks: two `kraud-agent run` processes (the AOT binary) as hosts
/// h1 and h2, each in its own network namespace (a veth between them for the replication transport), each with its
/// own pool, state dir and config (`replication: { listen, certFile, keyFile, caFile }`, certificates made with
/// openssl), one nats-server. Volumes go in as envelopes on KRAUD_DESIRED; what is asserted is what the control plane
/// reads in KRAUD_STATUS and what the pools hold. The lane is one kernel: both agents see both pools (each touches only
/// its own), and nats-server runs in the lane's own namespace, reached from each host over a second veth.
/// </summary>
/// `feature=replication-agents` picks it alone: tests/lane/test-in-lane --trait feature=replication-agents tests/Kraud.Agent.Tests
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("feature", "replication"), Trait("feature", "replication-agents")]
public sealed class ReplicationAgentsLaneTests
{
    private static readonly TimeSpan Pass = TimeSpan.FromMinutes(3); // `every: 1m` on the agent's 1-minute timer, under TCG

    [Fact]
    public async Task Two_agents_replicate_full_then_incremental_and_a_handover_moves_ownership_and_data_flows_back()
    {
        await using var w = await TwoAgents.StartAsync();
        string srcA = w.PoolA.Root + "/v1", dstB = w.PoolB.Root + "/v1";

        // h2 keeps the replica, h1 owns the volume and sends every minute.
        await w.Cp.PublishAsync("h2", "Volume", "v1", 1, ReplicaSpec(w.PoolB.Name, "h1"));
        await w.Cp.PublishAsync("h1", "Volume", "v1", 1, SourceSpec(w.PoolA.Name, "h2", TwoAgents.ListenB));
        await ReadyAsync(w, "h2", 1);
        await ReadyAsync(w, "h1", 1);

        // The first pass (full) of whatever the new volume holds, reported in h1's status.
        var first = await TargetAsync(w, "h1", 1, t => t.State == "idle" && t.LastSnapshot is not null);
        Assert.True(first.Bytes > 0, $"the full pass moved {first.Bytes} bytes");
        await ReceivedAsync(w, "h2", "h1", first.LastSnapshot!);

        // Data written after it goes with the next (incremental) pass.
        string mountA = await w.PropAsync(srcA, "mountpoint");
        Assert.Equal("yes", await w.PropAsync(srcA, "mounted"));
        ReplicationLanePair.WriteRandom(Path.Combine(mountA, "one"), 8 << 20);
        ReplicationLanePair.WriteRandom(Path.Combine(mountA, "two"), 1 << 20);
        var written = DateTimeOffset.UtcNow;
        var second = await TargetAsync(w, "h1", 1, t => t.State == "idle" && After(t.LastSnapshot, written));
        Assert.InRange(second.Bytes, 9 << 20, 12 << 20); // the change, not the whole again
        await ReceivedAsync(w, "h2", "h1", second.LastSnapshot!);

        var guidsA = await w.GuidsAsync(srcA);
        var guidsB = await w.GuidsAsync(dstB);
        Assert.Contains(first.LastSnapshot!, guidsB.Keys);
        Assert.Contains(second.LastSnapshot!, guidsB.Keys);
        foreach (var (name, guid) in guidsB) Assert.Equal(guidsA[name], guid);
        Assert.Equal(ReplicationLanePair.TreeHash(mountA), await ReplicationLanePair.SnapshotTreeHashAsync($"{dstB}@{second.LastSnapshot}", w.Dir.Path));
        Assert.Equal(("on", "no", "off"), (await w.PropAsync(dstB, "readonly"), await w.PropAsync(dstB, "mounted"), await w.PropAsync(dstB, "canmount")));
        Assert.Equal(("h1", "h2"), (await w.PropAsync(dstB, ReplicationNames.ReplicaOfProperty), await w.PropAsync(dstB, "kraud:host")));

        string beforeHandover = ReplicationLanePair.TreeHash(mountA);

        // Handover to h2: h1 stops writers, sends a final snapshot and becomes h2's replica.
        await w.Cp.PublishAsync("h1", "Volume", "v1", 2, SourceSpec(w.PoolA.Name, "h2", TwoAgents.ListenB, """, "handover": { "to": "h2", "requestId": "m-1" }"""));
        var handed = await ReadyAsync(w, "h1", 2);
        var over = handed.Observed["handedOver"]!;
        Assert.Equal(("m-1", "h2"), (over["requestId"]!.GetValue<string>(), over["to"]!.GetValue<string>()));
        string final = over["snapshot"]!.GetValue<string>();
        Assert.Equal(over["guid"]!.GetValue<string>(), (await w.GuidsAsync(dstB))[final]);
        Assert.Equal(("on", "no", "h2"), (await w.PropAsync(srcA, "readonly"), await w.PropAsync(srcA, "mounted"), await w.PropAsync(srcA, ReplicationNames.ReplicaOfProperty)));

        // The control plane makes h2 the source, replicating back to h1.
        await w.Cp.PublishAsync("h2", "Volume", "v1", 2, SourceSpec(w.PoolB.Name, "h1", TwoAgents.ListenA));
        await ReadyAsync(w, "h2", 2);
        Assert.Equal(("off", "yes"), (await w.PropAsync(dstB, "readonly"), await w.PropAsync(dstB, "mounted")));
        string mountB = await w.PropAsync(dstB, "mountpoint");
        Assert.Equal(beforeHandover, ReplicationLanePair.TreeHash(mountB));
        File.Delete(Path.Combine(mountB, "two"));
        ReplicationLanePair.WriteRandom(Path.Combine(mountB, "three"), 2 << 20);
        written = DateTimeOffset.UtcNow;
        var back = await TargetAsync(w, "h2", 2, t => t.State == "idle" && After(t.LastSnapshot, written));
        await ReceivedAsync(w, "h1", "h2", back.LastSnapshot!);
        Assert.Equal(ReplicationLanePair.TreeHash(mountB), await ReplicationLanePair.SnapshotTreeHashAsync($"{srcA}@{back.LastSnapshot}", w.Dir.Path));
        Assert.Equal((await w.GuidsAsync(dstB))[back.LastSnapshot!], (await w.GuidsAsync(srcA))[back.LastSnapshot!]);
        Assert.Equal(("on", "no"), (await w.PropAsync(srcA, "readonly"), await w.PropAsync(srcA, "mounted")));
    }

    private static string SourceSpec(string pool, string target, string address, string extra = "") => $$"""
        { "pool": "{{pool}}", "class": "nfs", "sizeBytes": 268435456, "properties": { "compression": "off" },
          "replication": { "role": "source", "targets": [ { "host": "{{target}}", "address": "{{address}}" } ], "every": "1m", "keep": 4{{extra}} } }
        """;

    private static string ReplicaSpec(string pool, string source) => $$"""
        { "pool": "{{pool}}", "class": "nfs", "sizeBytes": 268435456,
          "replication": { "role": "replica", "source": { "host": "{{source}}" }, "keep": 4 } }
        """;

    /// <summary>Whether a replication snapshot's time (in its name, whole seconds) is not before <paramref name="t"/>'s second.</summary>
    private static bool After(string? snapshot, DateTimeOffset t) =>
        snapshot is not null && ReplicationNames.TimeOf(snapshot) is { } at && at >= t.AddTicks(-(t.Ticks % TimeSpan.TicksPerSecond)).AddSeconds(1);

    private static Task<ResourceStatus> ReadyAsync(TwoAgents w, string host, long generation) => w.StatusAsync(host, s =>
    {
        Assert.False(s.Phase == ResourceStatus.Failed && s.Generation == generation, $"{host}'s v1 failed: {s.Message}");
        return s.Phase == ResourceStatus.Ready && s.Generation == generation;
    }, Pass);

    private sealed record Target(string? LastSnapshot, string State, long Bytes);

    /// <summary>Polls the source's status until its one target satisfies <paramref name="done"/>.</summary>
    private static async Task<Target> TargetAsync(TwoAgents w, string host, long generation, Func<Target, bool> done)
    {
        Target? last = null;
        await w.StatusAsync(host, s =>
        {
            if (s.Generation != generation || s.Observed["replication"] is not JsonArray { Count: 1 } a) return false;
            last = new Target(a[0]!["lastSnapshot"]?.GetValue<string>(), a[0]!["state"]!.GetValue<string>(), a[0]!["bytes"]!.GetValue<long>());
            return done(last);
        }, Pass);
        return last!;
    }

    /// <summary>Polls the replica's status until it names <paramref name="snapshot"/> as its last received from <paramref name="source"/>.</summary>
    private static Task<ResourceStatus> ReceivedAsync(TwoAgents w, string host, string source, string snapshot) => w.StatusAsync(host, s =>
        s.Observed["replication"] is JsonObject r && r["source"]?.GetValue<string>() == source && r["lastReceived"]?.GetValue<string>() == snapshot, Pass);
}
