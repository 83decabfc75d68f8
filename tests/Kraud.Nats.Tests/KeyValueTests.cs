using System.Text;
using Kraud.Nats.JetStream;
using Kraud.Nats.KeyValue;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class KeyValueTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(ReadOnlyMemory<byte> m) => Encoding.UTF8.GetString(m.Span);

    [Fact]
    public async Task Bucket_put_get_create_update_delete()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var kv = new NatsKVContext(new NatsJSContext(nats));
        var store = await kv.CreateStoreAsync(new NatsKVConfig("KRAUD_STATUS") { History = 1 });
        Assert.Equal("KV_KRAUD_STATUS", store.Stream.Info.Config.Name);
        Assert.Equal(1, store.Stream.Info.Config.MaxMsgsPerSubject);
        Assert.Equal(1, (await kv.CreateStoreAsync(new NatsKVConfig("KRAUD_STATUS"))).Stream.Info.Config.MaxMsgsPerSubject); // idempotent

        await Assert.ThrowsAsync<NatsKVKeyNotFoundException>(async () => await store.GetEntryAsync("h1.volume.v1"));
        Assert.Null(await store.TryGetEntryAsync("h1.volume.v1"));

        var r1 = await store.CreateAsync("h1.volume.v1", B("one"));
        var create2 = await Assert.ThrowsAsync<NatsKVCreateException>(async () => await store.CreateAsync("h1.volume.v1", B("again")));
        Assert.Contains("already exists", create2.Message);

        var r2 = await store.UpdateAsync("h1.volume.v1", B("two"), r1);
        Assert.True(r2 > r1);
        var stale = await Assert.ThrowsAsync<NatsKVWrongLastRevisionException>(async () => await store.UpdateAsync("h1.volume.v1", B("stale"), r1));
        Assert.Equal(r1, stale.ExpectedRevision);

        var e = await store.GetEntryAsync("h1.volume.v1");
        Assert.Equal("two", S(e.Value));
        Assert.Equal(r2, e.Revision);
        Assert.Equal(NatsKVOperation.Put, e.Operation);
        Assert.Equal("h1.volume.v1", e.Key);

        var r3 = await store.PutAsync("h1.volume.v1", B("three"));
        Assert.Equal("three", S((await store.GetEntryAsync("h1.volume.v1")).Value));

        await store.DeleteAsync("h1.volume.v1");
        var deleted = await Assert.ThrowsAsync<NatsKVKeyDeletedException>(async () => await store.GetEntryAsync("h1.volume.v1"));
        Assert.True(deleted.Revision > r3);
        // Create after delete works (the marker counts as "no value").
        var r5 = await store.CreateAsync("h1.volume.v1", B("reborn"));
        Assert.Equal("reborn", S((await store.GetEntryAsync("h1.volume.v1")).Value));
        await Assert.ThrowsAsync<NatsKVCreateException>(async () => await store.CreateAsync("h1.volume.v1", B("x")));

        await store.PutAsync("h1.pod.p1", B("pod"));
        await store.PutAsync("h2.pod.p1", B("other host"));
        var keys = new List<string>();
        await foreach (var k in store.GetKeysAsync("h1.>")) keys.Add(k);
        Assert.Equal(["h1.pod.p1", "h1.volume.v1"], keys.Order());
        var all = new Dictionary<string, string>();
        await foreach (var en in store.GetEntriesAsync()) all[en.Key] = S(en.Value);
        Assert.Equal(3, all.Count);
        Assert.Equal("reborn", all["h1.volume.v1"]);
        Assert.True(r5 > 0);

        await using var empty = new NatsConnection(new NatsOpts { Url = server.Url });
        var hosts = await new NatsKVContext(new NatsJSContext(empty)).CreateStoreAsync(new NatsKVConfig("KRAUD_HOSTS"));
        var none = 0;
        await foreach (var _ in hosts.GetEntriesAsync()) none++;
        Assert.Equal(0, none);
    }

    [Fact]
    public async Task Watch_sees_initial_values_then_puts_and_deletes()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var store = await new NatsKVContext(new NatsJSContext(nats)).CreateStoreAsync(new NatsKVConfig("KRAUD_HOSTS"));
        await store.PutAsync("h1", B("v1"));
        await store.PutAsync("h1", B("v2"));
        await store.PutAsync("h2", B("x"));

        using var cts = new CancellationTokenSource(Wait);
        var seen = new List<NatsKVEntry>();
        var initialDone = new TaskCompletionSource();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in store.WatchAsync(">", cancellationToken: cts.Token))
            {
                lock (seen) seen.Add(e);
                if (e.Delta == 0) initialDone.TrySetResult();
            }
        });
        await initialDone.Task.WaitAsync(Wait);
        lock (seen)
        {
            Assert.Equal(2, seen.Count); // latest per key only
            Assert.Equal("v2", S(seen.Single(e => e.Key == "h1").Value));
        }

        await store.PutAsync("h3", B("new"));
        await store.DeleteAsync("h2");
        await store.PurgeAsync("h1");
        await Deadline.WaitUntilAsync(() => { lock (seen) return seen.Count >= 5; }, Wait, "watch to see put, delete, purge");
        lock (seen)
        {
            Assert.Equal(("h3", NatsKVOperation.Put, "new"), (seen[2].Key, seen[2].Operation, S(seen[2].Value)));
            Assert.Equal(("h2", NatsKVOperation.Del), (seen[3].Key, seen[3].Operation));
            Assert.Equal(("h1", NatsKVOperation.Purge), (seen[4].Key, seen[4].Operation));
            Assert.True(seen[4].Revision > seen[3].Revision);
        }
        cts.Cancel();
        await watching;
    }

    [Fact]
    public async Task Watch_continues_across_a_server_restart()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url, ReconnectWaitMin = TimeSpan.FromMilliseconds(100), ReconnectWaitMax = TimeSpan.FromMilliseconds(500) });
        var store = await new NatsKVContext(new NatsJSContext(nats)).CreateStoreAsync(new NatsKVConfig("KRAUD_STATUS"));
        await store.PutAsync("a", B("1"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var seen = new List<NatsKVEntry>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in store.WatchAsync(">", new NatsKVWatchOpts { IdleHeartbeat = TimeSpan.FromSeconds(1) }, cts.Token))
                lock (seen) seen.Add(e);
        });
        await Deadline.WaitUntilAsync(() => { lock (seen) return seen.Count == 1; }, Wait, "initial value");

        await server.RestartAsync();
        await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Open, Wait, "reconnect");
        await Deadline.WaitUntilAsync(async () =>
        {
            try { await store.PutAsync("b", B("2")); return true; }
            catch (NatsException) { return false; }
        }, Wait, "put after restart");
        await Deadline.WaitUntilAsync(() => { lock (seen) return seen.Any(e => e.Key == "b"); }, Wait, "watch to see the put after the restart");
        lock (seen)
        {
            Assert.Equal(1, seen.Count(e => e.Key == "a")); // no repeats after the consumer was recreated
            Assert.Equal(1, seen.Count(e => e.Key == "b"));
        }
        cts.Cancel();
        await watching;
    }
}
