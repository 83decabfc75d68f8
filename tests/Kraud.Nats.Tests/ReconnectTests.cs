using System.Text;
using Kraud.Nats.JetStream;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class ReconnectTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static NatsOpts FastReconnect(string url) => new()
    {
        Url = url,
        ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
        ReconnectWaitMax = TimeSpan.FromMilliseconds(500),
        ReconnectJitter = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public async Task Subscription_and_in_flight_pull_survive_a_server_restart()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(FastReconnect(server.Url));
        var states = new List<NatsConnectionState>();
        nats.ConnectionStateChanged += (_, e) => { lock (states) states.Add(e.State); };
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(JetStreamTests.WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", JetStreamTests.WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        await using var sub = await nats.SubscribeCoreAsync("core.after");

        // A pull that waits (nothing in the stream yet) while the server goes down and comes back.
        var notifications = new List<NatsJSNotification>();
        var pull = Task.Run(async () =>
        {
            var got = new List<NatsJSMsg>();
            await foreach (var m in consumer.FetchAsync(new NatsJSFetchOpts
            {
                MaxMsgs = 1,
                Expires = TimeSpan.FromSeconds(25),
                NotificationHandler = n => { lock (notifications) notifications.Add(n); },
            }))
                got.Add(m);
            return got;
        });
        await Deadline.WaitUntilAsync(async () => (await js.GetConsumerAsync("KRAUD_WORK", "work-h1")).Info.NumWaiting == 1, Wait, "pull request waiting on the server");

        await server.RestartAsync();
        await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Open, Wait, "reconnected");
        lock (states) Assert.Contains(NatsConnectionState.Reconnecting, states);

        // The core subscription was re-sent: a publish from another connection reaches it.
        await using var other = new NatsConnection(new NatsOpts { Url = server.Url });
        await other.PublishAsync("core.after", Encoding.UTF8.GetBytes("still here"));
        var core = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("still here", Encoding.UTF8.GetString(core.Data.Span));

        // The pull was re-issued: a token published after the restart reaches the fetch started before it.
        await new NatsJSContext(other).PublishAsync("kraud.work.h1.volume.v1", Encoding.UTF8.GetBytes("after restart"));
        var got = await pull.WaitAsync(Wait);
        Assert.Single(got);
        Assert.Equal("after restart", Encoding.UTF8.GetString(got[0].Data.Span));
        Assert.True(await got[0].TryAckAsync());
        lock (notifications) Assert.Contains(notifications, n => n.Kind == NatsJSNotificationKind.Reissued);
    }

    [Fact]
    public async Task Consume_loop_keeps_going_across_a_restart()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(FastReconnect(server.Url));
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(JetStreamTests.WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", JetStreamTests.WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new HashSet<string>();
        var loop = Task.Run(async () =>
        {
            await foreach (var m in consumer.ConsumeAsync(new NatsJSConsumeOpts { MaxMsgs = 4, Expires = TimeSpan.FromSeconds(10) }, cts.Token))
            {
                lock (seen) seen.Add(m.Subject);
                await m.TryAckAsync();
            }
        });
        await js.PublishAsync("kraud.work.h1.a.1", default);
        await Deadline.WaitUntilAsync(() => { lock (seen) return seen.Count == 1; }, Wait, "first token");
        await server.RestartAsync();
        await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Open, Wait, "reconnected");
        for (var i = 2; i <= 5; i++) await js.PublishAsync($"kraud.work.h1.a.{i}", default);
        await Deadline.WaitUntilAsync(() => { lock (seen) return seen.Count == 5; }, Wait, "tokens after the restart");
        cts.Cancel();
        await loop;
    }

    [Fact]
    public async Task Publishes_while_disconnected_are_buffered_and_bounded()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(FastReconnect(server.Url) with { ReconnectBufferSize = 64 * 1024 });
        await using var sub = await nats.SubscribeCoreAsync("buf.>");
        await nats.PingAsync();
        await server.StopAsync();
        await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Reconnecting, Wait, "disconnect noticed");

        for (var i = 0; i < 10; i++) await nats.PublishAsync($"buf.{i}", new byte[1000]);
        var full = await Assert.ThrowsAsync<NatsException>(async () =>
        {
            for (var i = 0; i < 100; i++) await nats.PublishAsync("buf.over", new byte[1000]);
        });
        Assert.Contains("reconnect buffer", full.Message);

        await server.StartAgainAsync();
        for (var i = 0; i < 10; i++)
        {
            var m = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.Equal($"buf.{i}", m.Subject);
        }
    }

    [Fact]
    public async Task Frozen_server_is_detected_as_stale_and_left()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(FastReconnect(server.Url) with { PingInterval = TimeSpan.FromMilliseconds(300), MaxPingOut = 2 });
        var errors = new List<string>();
        nats.ConnectionStateChanged += (_, e) => { if (e.Error is not null) lock (errors) errors.Add(e.Error.Message); };
        await nats.PingAsync();
        server.Freeze();
        try
        {
            await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Reconnecting, Wait, "stale connection detected");
            lock (errors) Assert.Contains(errors, e => e.Contains("stale connection"));
        }
        finally
        {
            server.Thaw();
        }
        await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Open, Wait, "back after thaw");
        await nats.PingAsync();
    }
}

public sealed class HeartbeatTests
{
    [Fact]
    public async Task Missed_pull_heartbeats_are_noticed_and_the_pull_is_reissued()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(JetStreamTests.WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", JetStreamTests.WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        var notes = new List<NatsJSNotification>();
        var fetch = Task.Run(async () =>
        {
            var got = new List<NatsJSMsg>();
            await foreach (var m in consumer.FetchAsync(new NatsJSFetchOpts
            {
                MaxMsgs = 1,
                Expires = TimeSpan.FromSeconds(20),
                IdleHeartbeat = TimeSpan.FromMilliseconds(500),
                NotificationHandler = n => { lock (notes) notes.Add(n); },
            }))
                got.Add(m);
            return got;
        });
        await Deadline.WaitUntilAsync(async () => (await js.GetConsumerAsync("KRAUD_WORK", "work-h1")).Info.NumWaiting == 1, TimeSpan.FromSeconds(10), "pull waiting");

        server.Freeze();
        try
        {
            await Deadline.WaitUntilAsync(() => { lock (notes) return notes.Any(n => n.Kind == NatsJSNotificationKind.MissedHeartbeat); }, TimeSpan.FromSeconds(10), "missed heartbeat noticed");
        }
        finally
        {
            server.Thaw();
        }
        Assert.Equal(NatsConnectionState.Open, nats.ConnectionState);
        await using var other = new NatsConnection(new NatsOpts { Url = server.Url });
        await new NatsJSContext(other).PublishAsync("kraud.work.h1.volume.v1", Encoding.UTF8.GetBytes("after freeze"));
        var got = await fetch.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Single(got);
        Assert.Equal("after freeze", Encoding.UTF8.GetString(got[0].Data.Span));
    }
}
