using System.Text;
using Kraud.Nats;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class CoreProtocolTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Headers_and_payload_round_trip()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await using var sub = await nats.SubscribeCoreAsync("t.headers");
        await nats.PingAsync();

        var headers = new NatsHeaders { { "Nats-Msg-Id", "abc-1" }, { "X-Multi", "one" }, { "X-Multi", "two" }, { "X-Case", "Value With Spaces" } };
        await nats.PublishAsync("t.headers", Encoding.UTF8.GetBytes("hello"), headers, replyTo: "t.reply");

        var msg = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("t.headers", msg.Subject);
        Assert.Equal("t.reply", msg.ReplyTo);
        Assert.Equal("hello", Encoding.UTF8.GetString(msg.Data.Span));
        Assert.NotNull(msg.Headers);
        Assert.Equal("abc-1", msg.Headers!["Nats-Msg-Id"]);
        Assert.Equal(["one", "two"], msg.Headers.GetAll("X-Multi"));
        Assert.Equal("Value With Spaces", msg.Headers["X-Case"]);
        Assert.Null(msg.Headers["x-case"]); // keys are case-sensitive, as in the server
        Assert.Equal(0, msg.Headers.Code);

        // Empty payload with headers, and a plain message without headers.
        await nats.PublishAsync("t.headers", default, new NatsHeaders { { "Only", "headers" } });
        await nats.PublishAsync("t.headers", Encoding.UTF8.GetBytes("plain"));
        var m2 = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("headers", m2.Headers!["Only"]);
        Assert.True(m2.Data.IsEmpty);
        var m3 = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Null(m3.Headers);
        Assert.Equal("plain", Encoding.UTF8.GetString(m3.Data.Span));
    }

    [Fact]
    public async Task Request_reply_and_no_responders()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await using var sub = await nats.SubscribeCoreAsync("svc.echo");
        var responder = Task.Run(async () =>
        {
            await foreach (var m in sub.Msgs.ReadAllAsync())
                await m.ReplyAsync(Encoding.UTF8.GetBytes("re:" + Encoding.UTF8.GetString(m.Data.Span)));
        });
        await nats.PingAsync();

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            Encoding.UTF8.GetString((await nats.RequestAsync("svc.echo", Encoding.UTF8.GetBytes($"m{i}"))).Data.Span)));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"re:m{i}"), replies);

        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAsync<NatsNoRespondersException>(() => nats.RequestAsync("svc.nobody", timeout: TimeSpan.FromSeconds(5)).AsTask());
        Assert.Equal("svc.nobody", ex.Subject);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "503 must come back at once, not after the timeout");
    }

    [Fact]
    public async Task Request_times_out_when_the_responder_stays_silent()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await using var silent = await nats.SubscribeCoreAsync("svc.silent");
        await nats.PingAsync();

        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<NatsNoReplyException>(() => nats.RequestAsync("svc.silent", timeout: TimeSpan.FromMilliseconds(300)).AsTask());
        var took = DateTime.UtcNow - started;
        Assert.InRange(took, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        var got = await silent.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.NotNull(got.ReplyTo);
    }

    [Fact]
    public async Task Payload_over_max_payload_is_refused_and_the_connection_survives()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false, MaxPayload = 1024 });
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await using var sub = await nats.SubscribeCoreAsync("t.big");
        await nats.PingAsync();
        Assert.Equal(1024, nats.ServerInfo!.MaxPayload);

        var ex = await Assert.ThrowsAsync<NatsPayloadTooLargeException>(() => nats.PublishAsync("t.big", new byte[1025]).AsTask());
        Assert.Equal(1024, ex.MaxPayload);
        Assert.Contains("max_payload", ex.Message);
        // Headers count too.
        await Assert.ThrowsAsync<NatsPayloadTooLargeException>(() => nats.PublishAsync("t.big", new byte[1000], new NatsHeaders { { "Pad", new string('x', 40) } }).AsTask());

        await nats.PublishAsync("t.big", new byte[1024]);
        var msg = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(1024, msg.Data.Length);
        Assert.Equal(NatsConnectionState.Open, nats.ConnectionState);
    }

    [Fact]
    public async Task Large_messages_and_bursts_arrive_intact()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url, SubPendingChannelCapacity = 10_000 });
        var dropped = 0;
        nats.MessageDropped += (_, _) => Interlocked.Increment(ref dropped);
        await using var sub = await nats.SubscribeCoreAsync("t.burst");
        await nats.PingAsync();
        var big = new byte[900_000];
        Random.Shared.NextBytes(big);
        await nats.PublishAsync("t.burst", big);
        for (var i = 0; i < 5000; i++) await nats.PublishAsync("t.burst", BitConverter.GetBytes(i));
        var first = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.True(first.Data.Span.SequenceEqual(big));
        for (var i = 0; i < 5000; i++)
        {
            var m = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.Equal(i, BitConverter.ToInt32(m.Data.Span));
        }
        Assert.Equal(0, dropped);
    }
}
