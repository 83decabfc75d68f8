using System.Text;
using Kraud.Nats.JetStream;
using Kraud.Nats.KeyValue;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class ClusterTests
{
    [Fact]
    public async Task Publishing_and_pulling_continue_while_one_of_three_servers_is_killed_and_restarted()
    {
        await using var cluster = await NatsCluster.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts
        {
            Url = cluster.Urls,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromMilliseconds(500),
        });
        var js = new NatsJSContext(nats, new NatsJSOpts { RequestTimeout = TimeSpan.FromSeconds(3), AckTimeout = TimeSpan.FromSeconds(3) });
        await Deadline.WaitUntilAsync(async () =>
        {
            try { await js.CreateStreamAsync(JetStreamTests.WorkStream(replicas: 3)); return true; }
            catch (NatsException) { return false; } // meta leader still being elected
        }, TimeSpan.FromSeconds(30), "R3 stream created");
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", JetStreamTests.WorkConsumer("h1", TimeSpan.FromSeconds(5)) with { MaxAckPending = 1000 });
        var kv = await new NatsKVContext(js).CreateStoreAsync(new NatsKVConfig("KRAUD_STATUS") { NumberOfReplicas = 3 });
        Assert.Equal(3, (await js.GetStreamAsync("KRAUD_WORK")).Info.Config.NumReplicas);

        var published = 0;
        var done = new HashSet<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var worker = Task.Run(async () =>
        {
            await foreach (var m in consumer.ConsumeAsync(new NatsJSConsumeOpts { MaxMsgs = 20, Expires = TimeSpan.FromSeconds(4) }, stop.Token))
            {
                if (await m.TryAckAsync()) lock (done) done.Add(m.Subject);
            }
        });

        async Task PublishAsync(int i)
        {
            var subject = $"kraud.work.h1.item.i{i}";
            await Deadline.WaitUntilAsync(async () =>
            {
                try
                {
                    await js.PublishAsync(subject, Encoding.UTF8.GetBytes($"{i}"), new NatsJSPubOpts { MsgId = $"m-{i}" });
                    return true;
                }
                catch (NatsException) { return false; } // no leader for a moment or reconnecting: same Msg-Id again
            }, TimeSpan.FromSeconds(30), $"publish {subject}", pollMs: 100);
            Interlocked.Increment(ref published);
        }

        for (var i = 0; i < 50; i++) await PublishAsync(i);
        await Deadline.WaitUntilAsync(() => { lock (done) return done.Count == 50; }, TimeSpan.FromSeconds(30), "first 50 done");

        // Kill the server we are connected to, keep working through the outage.
        var victim = cluster.Servers.Select((s, i) => (s, i)).Single(x => x.s.Options.ServerName == nats.ServerInfo!.ServerName).i;
        await cluster.KillAsync(victim);
        for (var i = 50; i < 100; i++) await PublishAsync(i);
        await Deadline.WaitUntilAsync(() => { lock (done) return done.Count == 100; }, TimeSpan.FromSeconds(40), "work during the outage");
        Assert.NotEqual(cluster.Servers[victim].Options.ServerName, nats.ServerInfo!.ServerName);
        // The KV stream may still be electing a leader when the work stream already has one: retried, as the
        // agent's status writer does.
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                await kv.PutAsync("h1.item.during", Encoding.UTF8.GetBytes("outage"));
                return true;
            }
            catch (NatsException) { return false; }
        }, TimeSpan.FromSeconds(30), "a KV put during the outage", pollMs: 100);

        await cluster.RestartAsync(victim);
        for (var i = 100; i < 150; i++) await PublishAsync(i);
        await Deadline.WaitUntilAsync(() => { lock (done) return done.Count == 150; }, TimeSpan.FromSeconds(40), "work after the restart");
        Assert.Equal("outage", Encoding.UTF8.GetString((await kv.GetEntryAsync("h1.item.during")).Value.Span));
        Assert.Equal(150, published);

        stop.Cancel();
        await worker;
        await Deadline.WaitUntilAsync(async () => (await js.GetStreamAsync("KRAUD_WORK")).Info.State.Messages == 0, TimeSpan.FromSeconds(20), "workqueue empty");
    }
}
