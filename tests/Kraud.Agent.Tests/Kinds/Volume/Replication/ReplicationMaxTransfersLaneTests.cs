using System.Net;
using System.Net.Sockets;
using Kraud.Agent.Composition;
using Kraud.Agent.Config;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Zfs.Send;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>
/// Config `replication.maxTransfers` as the daemon builds it (<see cref="ZfsStorage.Create"/>): three source volumes
/// due at once never show more than maxTransfers targets `sending` at a time, and with room for all three they do
/// overlap (so the bound is what holds them apart, not the timing).
/// </summary>
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("feature", "replication")]
public class ReplicationMaxTransfersLaneTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Ids = ["v1", "v2", "v3"];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task AtMostMaxTransfersTargetsAreSendingAtOnce(int maxTransfers)
    {
        await using var p = await ReplicationLanePair.CreateAsync(Start);
        // The daemon's source side lives in this (the lane's root) namespace, so h2 also listens here, on loopback,
        // with the registry and pool of the pair's h2 and room for every stream at once.
        var receiver = new ReplicationReceiver(p.Zfs, new ZfsSendReceive(p.Zfs.Cli), p.B.Registry,
            ReplicationTls.Load(p.Certs.Cert("h2"), p.Certs.Key("h2"), p.Certs.CaFile), "h2", new SemaphoreSlim(8), new CapturingLogger());
        var listen = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        listen.Listen(16);
        receiver.Start(listen);
        await using var _ = receiver;
        string target = $"[::1]:{((IPEndPoint)listen.LocalEndPoint!).Port}";

        var config = new AgentConfig
        {
            Host = "h1",
            Replication = new ReplicationConfig
            {
                CertFile = p.Certs.Cert("h1"), KeyFile = p.Certs.Key("h1"), CaFile = p.Certs.CaFile, MaxTransfers = maxTransfers,
            },
        };
        var storage = ZfsStorage.Create(p.Clock, config: config);
        var schedule = storage.ReplicationSchedule!;
        foreach (var id in Ids)
        {
            await p.VolumesB.ReconcileAsync(id, 1, "h2", p.ReplicaSpec(p.PoolB.Name));
            await storage.Volumes.ReconcileAsync(id, 1, "h1", p.SourceSpec(targetAddress: target));
            // Enough to take seconds under TCG, so overlapping streams are seen by the watcher below.
            ReplicationLanePair.WriteRandom($"/{p.PoolA.Root}/{id}/data", 24 << 20);
        }

        int most = 0;
        using var done = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                most = Math.Max(most, Ids.Sum(id => schedule.StatusOf(id).Count(t => t.State == TargetPassResult.Sending)));
                await Task.Delay(10);
            }
        });
        await schedule.PassAsync(CancellationToken.None);
        done.Cancel();
        await watch;

        foreach (var id in Ids)
        {
            var t = Assert.Single(schedule.StatusOf(id));
            Assert.Equal(("idle", "repl-20261205T000000Z", null), (t.State, t.LastSnapshot, t.Error));
            Assert.True(t.Bytes > 24 << 20, $"{id}: {t.Bytes} bytes sent");
        }
        if (maxTransfers == 1) Assert.Equal(1, most);
        else Assert.InRange(most, 2, maxTransfers);
    }
}
