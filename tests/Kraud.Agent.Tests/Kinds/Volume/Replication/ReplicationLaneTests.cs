using System.Net;
using System.Net.Sockets;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Zfs.Send;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>Volume replication between two hosts (network namespaces joined by a veth, a pool each) in the kernel lane.</summary>
/// `feature=replication` lets a lane run pick these alone: tests/lane/test-in-lane --trait feature=replication tests/Kraud.Agent.Tests
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("feature", "replication")]
public class ReplicationLaneTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task FullThenIncrementalGiveTheSameDataAndGuidsAndTheReplicaStaysReadOnlyAndUnmounted()
    {
        await using var p = await ReplicationLanePair.CreateAsync(Start);
        string src = p.PoolA.Root + "/v1", dst = p.PoolB.Root + "/v1";
        await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec());
        ReplicationLanePair.WriteRandom($"/{src}/one", 8 << 20);
        ReplicationLanePair.WriteRandom($"/{src}/two", 1 << 20);

        await p.ScheduleA.PassAsync(CancellationToken.None);
        var first = Assert.Single(p.ScheduleA.StatusOf("v1"));
        Assert.Equal(("h2", "idle", null), (first.Host, first.State, first.Error));
        Assert.Equal("repl-20261205T000000Z", first.LastSnapshot);
        Assert.True(first.Bytes > 9 << 20, $"the full send moved {first.Bytes} bytes");

        // The replica: read-only, never mounted, marked as h1's replica on h2.
        Assert.Equal("on", await p.PropAsync(dst, "readonly"));
        Assert.Equal("no", await p.PropAsync(dst, "mounted"));
        Assert.Equal("off", await p.PropAsync(dst, "canmount"));
        Assert.Equal("h1", await p.PropAsync(dst, ReplicationNames.ReplicaOfProperty));
        Assert.Equal(("v1", "h2"), (await p.PropAsync(dst, "kraud:id"), await p.PropAsync(dst, "kraud:host")));

        File.Delete($"/{src}/two");
        ReplicationLanePair.WriteRandom($"/{src}/three", 2 << 20);
        p.Clock.Advance(TimeSpan.FromHours(1));
        await p.ScheduleA.PassAsync(CancellationToken.None);
        var second = Assert.Single(p.ScheduleA.StatusOf("v1"));
        Assert.Equal(("repl-20261205T010000Z", "idle"), (second.LastSnapshot, second.State));
        Assert.InRange(second.Bytes, 2 << 20, 4 << 20); // the change, not the whole

        var guidsA = await p.GuidsAsync(src);
        var guidsB = await p.GuidsAsync(dst);
        Assert.Equal(["repl-20261205T000000Z", "repl-20261205T010000Z"], guidsB.Keys.Order());
        foreach (var (name, guid) in guidsB) Assert.Equal(guidsA[name], guid);
        Assert.Equal(ReplicationLanePair.TreeHash($"/{src}"), await p.SnapshotTreeHashAsync($"{dst}@repl-20261205T010000Z"));
        Assert.Equal("no", await p.PropAsync(dst, "mounted"));

        // The base of the next incremental is held on the source, and only that one.
        Assert.Contains("kraud-repl-h2", p.Zfs.GetHolds($"{src}@repl-20261205T010000Z"));
        Assert.Empty(p.Zfs.GetHolds($"{src}@repl-20261205T000000Z"));

        // The status of both sides.
        var observedA = await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec());
        Assert.Equal("repl-20261205T010000Z", observedA["replication"]![0]!["lastSnapshot"]!.GetValue<string>());
        Assert.Equal(0, observedA["replication"]![0]!["lagSeconds"]!.GetValue<long>());
        var observedB = await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        Assert.Equal(("h1", "repl-20261205T010000Z"), (observedB["replication"]!["source"]!.GetValue<string>(), observedB["replication"]!["lastReceived"]!.GetValue<string>()));
        Assert.Equal("none", observedB["export"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACutTransferResumesFromTheTokenAndSendsLessThanTheWhole()
    {
        await using var p = await ReplicationLanePair.CreateAsync(Start);
        string src = p.PoolA.Root + "/v1", dst = p.PoolB.Root + "/v1";
        await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec());
        ReplicationLanePair.WriteRandom($"/{src}/blob", 24 << 20);
        string snap = $"{src}@repl-20261205T000000Z";
        p.Zfs.Snapshot([snap]);
        var target = p.SourceSpec().Replication!.Targets![0];

        using var cut = new CancellationTokenSource();
        var progress = new Progress(r => { if (r.Bytes >= 6 << 20) cut.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => p.SenderA.SendAsync("v1", src, target, snap, progress, ct: cut.Token));
        await Deadline.WaitUntilAsync(() => p.ReceiverLogB.Lines.Any(l => l.Message.Contains("stopped after")), TimeSpan.FromMinutes(1), "the receiver to see the cut");
        await Deadline.WaitUntilAsync(async () => await p.PropAsync(dst, "receive_resume_token") != "-", TimeSpan.FromMinutes(1), "a resume token on the replica");

        var r = await p.SenderA.SendAsync("v1", src, target, snap);
        Assert.Equal(("idle", "repl-20261205T000000Z"), (r.State, r.LastSnapshot));
        Assert.True(r.Bytes < 24 << 20, $"the resumed transfer moved {r.Bytes} bytes; starting over would move more than 24 MiB");
        Assert.True(r.Bytes > 4 << 20, $"the resumed transfer moved only {r.Bytes} bytes");
        Assert.Equal("-", await p.PropAsync(dst, "receive_resume_token"));
        Assert.Equal((await p.GuidsAsync(src))["repl-20261205T000000Z"], (await p.GuidsAsync(dst))["repl-20261205T000000Z"]);
        Assert.Equal(ReplicationLanePair.TreeHash($"/{src}"), await p.SnapshotTreeHashAsync(snap.Replace(src, dst)));
        Assert.Equal(("on", "h1"), (await p.PropAsync(dst, "readonly"), await p.PropAsync(dst, ReplicationNames.ReplicaOfProperty)));
    }

    [Fact]
    public async Task AWrongHostOrAWrongVolumeWritesNothingAndIsLoggedAndPlainTcpGetsNothing()
    {
        await using var p = await ReplicationLanePair.CreateAsync(Start);
        string src = p.PoolA.Root + "/v1";
        await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec());
        await p.VolumesA.ReconcileAsync("v2", 1, "h1", p.SourceSpec());
        string snap = $"{src}@repl-20261205T000000Z";
        p.Zfs.Snapshot([snap, $"{p.PoolA.Root}/v2@repl-20261205T000000Z"]);
        var target = p.SourceSpec().Replication!.Targets![0];

        // h3 holds a good certificate of the CA, but v1's replica receives from h1 only.
        var h3 = new ReplicationSender(p.Zfs, new ZfsSendReceive(p.Zfs.Cli), ReplicationTls.Load(p.Certs.Cert("h3"), p.Certs.Key("h3"), p.Certs.CaFile), new CapturingLogger())
            { Dial = ReplicationLanePair.DialFrom(p.Hosts.A) };
        var e = await Assert.ThrowsAsync<ReplicationRefusedException>(() => h3.SendAsync("v1", src, target, snap));
        Assert.Contains("not from 'h3'", e.Message);
        // h1 for a volume h2 keeps no replica of.
        var v2 = await Assert.ThrowsAsync<ReplicationRefusedException>(() => p.SenderA.SendAsync("v2", $"{p.PoolA.Root}/v2", target, $"{p.PoolA.Root}/v2@repl-20261205T000000Z"));
        Assert.Contains("no replica of volume 'v2'", v2.Message);
        // A plain TCP client from host A: no byte back.
        using (var plain = p.Hosts.A.Ns.Run(() => new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp)))
        {
            await plain.ConnectAsync(IPEndPoint.Parse(ReplicationLanePair.Listen));
            await plain.SendAsync("{\"op\":\"receive\",\"volume\":\"v1\"}\n"u8.ToArray());
            var buffer = new byte[4096];
            int total = 0, n;
            try { while ((n = await plain.ReceiveAsync(buffer)) > 0) total += n; }
            catch (SocketException) { }
            Assert.Equal(0, total);
        }
        await Deadline.WaitUntilAsync(() => p.ReceiverB.Refused == 3, TimeSpan.FromSeconds(30), "three refusals");
        Assert.Contains(p.ReceiverLogB.Lines, l => l.Message.Contains("from host 'h3'") && l.ScopeValue("Id") == "v1");
        Assert.Contains(p.ReceiverLogB.Lines, l => l.Message.Contains("from host 'h1'") && l.ScopeValue("Id") == "v2");
        Assert.Contains(p.ReceiverLogB.Lines, l => l.Message.Contains("no TLS 1.3 handshake"));
        // Nothing written: no dataset for either volume on h2.
        Assert.False(p.Zfs.Exists(p.PoolB.Root + "/v1"));
        Assert.False(p.Zfs.Exists(p.PoolB.Root + "/v2"));
        Assert.Equal(0, p.ReceiverB.Received);
    }

    private sealed class Progress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
