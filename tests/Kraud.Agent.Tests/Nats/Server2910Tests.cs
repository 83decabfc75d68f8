using System.Diagnostics;
using System.Text;
using Kraud.Agent.Config;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using Xunit.Abstractions;

namespace Kraud.Agent.Tests.Nats;

/// <summary>
/// What nats-server 2.9.10 (Debian's) does differently from the servers NATS.Net 3.3 is written for, and the
/// agent's handling of each, against a real server. Each test fails when the agent's handling is taken away.
/// </summary>
public sealed class Server2910Tests(ITestOutputHelper output) : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private NatsConnection _conn = null!;
    private NatsJSContext _js = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _conn = await ConnectAsync(_nats.Url);
        _js = new NatsJSContext(_conn);
    }

    public async Task DisposeAsync()
    {
        if (_nats.IsRunning) _nats.Thaw();
        await _conn.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private static async Task<NatsConnection> ConnectAsync(string url)
    {
        var c = new NatsConnection(NatsOpts.Default with
        {
            Url = url, Name = "2.9.10 test", RequestTimeout = TimeSpan.FromSeconds(5),
            ReconnectWaitMin = TimeSpan.FromMilliseconds(50), ReconnectWaitMax = TimeSpan.FromMilliseconds(200), MaxReconnectRetry = -1,
        });
        await c.ConnectAsync();
        return c;
    }

    private async Task<INatsJSConsumer> StreamWithConsumerAsync(string stream, TimeSpan ackWait)
    {
        await _js.CreateStreamAsync(new StreamConfig(stream, [stream.ToLowerInvariant() + ".>"]));
        return await _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("c")
        {
            DurableName = "c", AckPolicy = ConsumerConfigAckPolicy.Explicit, AckWait = ackWait, MaxDeliver = -1,
        });
    }

    private static async Task<INatsJSMsg<byte[]>> NextAsync(INatsJSConsumer consumer, TimeSpan wait)
    {
        var msg = await consumer.NextAsync(NatsRawSerializer<byte[]>.Default, new NatsJSNextOpts { Expires = wait });
        return msg ?? throw new TimeoutException($"no message from {consumer.Info.Name} within {wait.TotalSeconds} s");
    }

    // (a) ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_confirmed_ack_is_confirmed_and_an_ack_to_a_frozen_server_is_reported_unconfirmed()
    {
        var consumer = await StreamWithConsumerAsync("ACKS", TimeSpan.FromSeconds(30));
        await _js.PublishAsync("acks.one", "1"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        await _js.PublishAsync("acks.two", "2"u8.ToArray(), NatsRawSerializer<byte[]>.Default);

        var one = await NextAsync(consumer, TimeSpan.FromSeconds(5));
        Assert.True(await Settle.TryConfirmedAsync(one, Settle.Confirmed, TimeSpan.FromSeconds(5), default, ack: true), "+ACK on a running server confirmed");
        await consumer.RefreshAsync();
        Assert.Equal(0, consumer.Info.NumAckPending); // the confirmation means the server took it

        var two = await NextAsync(consumer, TimeSpan.FromSeconds(5));
        Assert.True(await Settle.TryConfirmedAsync(two, Settle.Progress, TimeSpan.FromSeconds(5), default), "+WPI on a running server confirmed");
        _nats.Freeze();
        var sw = Stopwatch.StartNew();
        bool progress, ack;
        try
        {
            // Without double ack NATS.Net only writes the verb to the socket, so both would return true here.
            progress = await Settle.TryConfirmedAsync(two, Settle.Progress, TimeSpan.FromSeconds(1), default);
            ack = await Settle.TryConfirmedAsync(two, Settle.Confirmed, TimeSpan.FromSeconds(1), default, ack: true);
        }
        finally
        {
            _nats.Thaw();
        }
        Assert.False(progress, "+WPI to a frozen server reported unconfirmed");
        Assert.False(ack, "+ACK to a frozen server reported unconfirmed");
        output.WriteLine($"both reported unconfirmed after {sw.Elapsed.TotalMilliseconds:0} ms (1 s timeout each)");
    }

    // (b) ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Term_without_a_reason_is_honoured_and_term_with_a_reason_is_ignored_and_redelivered()
    {
        var consumer = await StreamWithConsumerAsync("TERMS", TimeSpan.FromSeconds(1));
        await _js.PublishAsync("terms.plain", "p"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        await _js.PublishAsync("terms.reason", "r"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        var plain = await NextAsync(consumer, TimeSpan.FromSeconds(5));
        var reasoned = await NextAsync(consumer, TimeSpan.FromSeconds(5));
        Assert.Equal("terms.plain", plain.Subject);
        Assert.Equal("terms.reason", reasoned.Subject);

        await plain.AckTerminateAsync(Settle.Terminate);                                    // "+TERM": what the agent sends
        await reasoned.AckTerminateAsync(new AckOpts { TerminateReason = "x" });             // "+TERM x": NATS.Net's reason
        // The server handles acks on a queue of its own, after the consumer info of the same connection: poll.
        await Deadline.WaitUntilAsync(async () => { await consumer.RefreshAsync(); return consumer.Info.NumAckPending <= 1; },
            TimeSpan.FromSeconds(5), "the plain +TERM to be processed");

        // It comes back after ack_wait (1 s); the plain one never does.
        var again = await NextAsync(consumer, TimeSpan.FromSeconds(10));
        Assert.Equal("terms.reason", again.Subject);
        Assert.Equal(2ul, again.Metadata!.Value.NumDelivered);
        Assert.True(await Settle.TryConfirmedAsync(again, Settle.Confirmed, TimeSpan.FromSeconds(5), default, ack: true));
        await consumer.RefreshAsync();
        Assert.Equal(0, consumer.Info.NumAckPending);
        Assert.Equal(0ul, consumer.Info.NumPending);
        Assert.Equal(3ul, consumer.Info.Delivered.ConsumerSeq); // plain once, the one with a reason twice
        Assert.Null(Settle.Terminate.TerminateReason);
    }

    // (c) ------------------------------------------------------------------------------------------------------

    private static AgentConfig Config(string host, int concurrency) => new() { Host = host, Concurrency = concurrency, StateDir = "/nonexistent" };

    [Fact]
    public async Task Stream_setup_run_again_with_another_concurrency_updates_the_work_consumer_in_place()
    {
        var logger = new CapturingLogger<StreamSetup>();
        var first = await new StreamSetup(_js, new StreamLayout(Config("h1", 4)), logger).EnsureAsync(default);
        Assert.Equal(4, first.Work.Info.Config.MaxAckPending);

        // A token taken and not acked: the update must keep the consumer's state, not replace the consumer.
        await _js.PublishAsync("kraud.work.h1.probe.a", "{}"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        var held = await NextAsync(first.Work, TimeSpan.FromSeconds(5));
        var created = first.Work.Info.Created;

        var second = await new StreamSetup(_js, new StreamLayout(Config("h1", 7)), logger).EnsureAsync(default);
        var info = (await _js.GetConsumerAsync(StreamLayout.Work, "work-h1")).Info;
        Assert.Equal(7, second.Work.Info.Config.MaxAckPending);
        Assert.Equal(7, info.Config.MaxAckPending);
        Assert.Equal(created, info.Created);
        Assert.Equal(1, info.NumAckPending);
        Assert.Equal(1ul, info.Delivered.ConsumerSeq);
        Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning);
        Assert.True(await Settle.TryConfirmedAsync(held, Settle.Confirmed, TimeSpan.FromSeconds(5), default, ack: true));
    }

    [Fact]
    public async Task A_work_consumer_with_another_filter_is_changed_and_one_the_server_will_not_change_is_used_as_it_is()
    {
        var layout = new StreamLayout(Config("h1", 8));
        await _js.CreateStreamAsync(layout.WorkStream);
        var logger = new CapturingLogger<StreamSetup>();

        // 2.9.10 changes a durable's filter on update: an older, narrower work consumer is brought to the layout's.
        var narrow = layout.WorkConsumerConfig;
        narrow.FilterSubject = "kraud.work.h1.probe.>";
        await _js.CreateConsumerAsync(StreamLayout.Work, narrow);
        var updated = await new StreamSetup(_js, layout, logger).EnsureAsync(default);
        Assert.Equal("kraud.work.h1.>", updated.Work.Info.Config.FilterSubject);
        Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning);

        // A field it refuses to change (the replay policy: "can not be updated"): the consumer is used as it is, logged.
        await _js.DeleteConsumerAsync(StreamLayout.Work, layout.WorkConsumer);
        var old = layout.WorkConsumerConfig;
        old.FilterSubject = "kraud.work.h1.probe.>";
        old.ReplayPolicy = ConsumerConfigReplayPolicy.Original;
        old.MaxAckPending = 3;
        await _js.CreateConsumerAsync(StreamLayout.Work, old);
        var handles = await new StreamSetup(_js, layout, logger).EnsureAsync(default);

        Assert.Equal(ConsumerConfigReplayPolicy.Original, handles.Work.Info.Config.ReplayPolicy);
        Assert.Equal("kraud.work.h1.probe.>", handles.Work.Info.Config.FilterSubject);
        Assert.Equal(3, handles.Work.Info.Config.MaxAckPending);
        var warning = Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning);
        Assert.Contains("work-h1", warning.Message);
        Assert.Contains("using it as it is", warning.Message);
        output.WriteLine("logged: " + warning.Message);

        // And it serves: a token published now is delivered through it.
        await _js.PublishAsync("kraud.work.h1.probe.a", "{}"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        var msg = await NextAsync(handles.Work, TimeSpan.FromSeconds(5));
        Assert.Equal("kraud.work.h1.probe.a", msg.Subject);
    }

    // (d) ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Several_filter_subjects_are_silently_not_honoured_so_the_layout_uses_one_filter_per_consumer()
    {
        // What 2.9.10 does with filter_subjects (a 2.10 field): it ignores it and creates a consumer of everything.
        await _js.CreateStreamAsync(new StreamConfig("MULTI", ["multi.>"]));
        var multi = await _js.CreateOrUpdateConsumerAsync("MULTI", new ConsumerConfig("m")
        {
            DurableName = "m", AckPolicy = ConsumerConfigAckPolicy.Explicit, FilterSubjects = ["multi.a", "multi.b"],
        });
        foreach (var s in new[] { "multi.a", "multi.b", "multi.c" })
            await _js.PublishAsync(s, "x"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        await multi.RefreshAsync();
        Assert.True(multi.Info.Config.FilterSubjects is null or { Count: 0 }, "2.9.10 did not keep filter_subjects");
        Assert.Equal(3ul, multi.Info.NumPending); // multi.c included: the filter was not honoured

        // The agent's layout: one filter_subject per consumer, which 2.9.10 honours.
        var layout = new StreamLayout(Config("h1", 8));
        foreach (var c in new[] { layout.WorkConsumerConfig, layout.DispatchConsumerConfig })
        {
            Assert.True(c.FilterSubjects is null or { Count: 0 }, c.Name);
            Assert.NotNull(c.FilterSubject);
        }
        var handles = await new StreamSetup(_js, layout, new CapturingLogger<StreamSetup>()).EnsureAsync(default);
        await _js.PublishAsync("kraud.work.h2.probe.other", "{}"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        await _js.PublishAsync("kraud.work.h1.probe.mine", "{}"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        await _js.PublishAsync("kraud.desired.h2.probe.other", "{}"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        await _js.PublishAsync("kraud.desired.h1.probe.mine", "{}"u8.ToArray(), NatsRawSerializer<byte[]>.Default);
        foreach (var consumer in new[] { handles.Work, handles.Dispatch })
        {
            await consumer.RefreshAsync();
            Assert.Equal("kraud." + (consumer == handles.Work ? "work" : "desired") + ".h1.>", consumer.Info.Config.FilterSubject);
            Assert.Equal(1ul, consumer.Info.NumPending);
            var msg = await NextAsync(consumer, TimeSpan.FromSeconds(5));
            Assert.EndsWith(".h1.probe.mine", msg.Subject);
        }
    }

    // (e) ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_watch_with_the_agents_heartbeat_sees_a_new_value_within_3_s_of_a_server_restart()
    {
        var kv = new NatsKVContext(_js);
        var store = await kv.CreateStoreAsync(new NatsKVConfig("WATCHED") { History = 1, Storage = NatsKVStorageType.File });
        await store.PutAsync("h1.probe.a", Encoding.UTF8.GetBytes("v1"), NatsRawSerializer<byte[]>.Default);

        await using var agentConn = await ConnectAsync(_nats.Url);
        await using var defaultConn = await ConnectAsync(_nats.Url);
        var agentStore = await new NatsKVContext(new NatsJSContext(agentConn)).GetStoreAsync("WATCHED");
        var defaultStore = await new NatsKVContext(new NatsJSContext(defaultConn)).GetStoreAsync("WATCHED");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var agentWatch = WatchForAsync(agentStore.FollowAsync(">", NatsRawSerializer<byte[]>.Default, stop.Token));
        var defaultWatch = WatchForAsync(defaultStore.WatchAsync(">", NatsRawSerializer<byte[]>.Default, new NatsKVWatchOpts(), stop.Token));
        await Deadline.WaitUntilAsync(() => agentWatch.SawV1 && defaultWatch.SawV1, TimeSpan.FromSeconds(10), "both watches to see v1");

        await _nats.RestartAsync(waitReady: false);
        long acceptingAt = Stopwatch.GetTimestamp();
        // Written as soon as the restarted server takes it (JetStream needs a moment after the port accepts).
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                await store.PutAsync("h1.probe.a", Encoding.UTF8.GetBytes("v2"), NatsRawSerializer<byte[]>.Default);
                return true;
            }
            catch (Exception e) when (e is NatsException or TimeoutException) { return false; }
        }, TimeSpan.FromSeconds(20), "the put of v2 after the restart");
        double writtenMs = Stopwatch.GetElapsedTime(acceptingAt).TotalMilliseconds;

        await Deadline.WaitUntilAsync(() => agentWatch.SawV2At is not null, TimeSpan.FromSeconds(10), "the agent's watch to see v2");
        double agentMs = Stopwatch.GetElapsedTime(acceptingAt, agentWatch.SawV2At!.Value).TotalMilliseconds;
        string defaultFigure;
        try
        {
            await Deadline.WaitUntilAsync(() => defaultWatch.SawV2At is not null, TimeSpan.FromSeconds(45), "the default watch to see v2");
            defaultFigure = $"{Stopwatch.GetElapsedTime(acceptingAt, defaultWatch.SawV2At!.Value).TotalMilliseconds:0} ms";
        }
        catch (TimeoutException)
        {
            defaultFigure = "not within 45 s";
        }
        output.WriteLine($"v2 written {writtenMs:0} ms after the server accepted again; agent's watch (heartbeat {KeyValueExtensions.WatchHeartbeat.TotalSeconds} s) saw it after {agentMs:0} ms; NATS.Net's default watch after {defaultFigure}");
        Assert.True(agentMs < 3000, $"the agent's watch resumed after {agentMs:0} ms (default: {defaultFigure})");
        stop.Cancel();
    }

    private sealed class WatchProgress
    {
        private long _v2;
        public volatile bool SawV1;
        public long? SawV2At => Interlocked.Read(ref _v2) is var t and not 0 ? t : null;
        public void MarkV2() => Interlocked.CompareExchange(ref _v2, Stopwatch.GetTimestamp(), 0);
    }

    private static WatchProgress WatchForAsync(IAsyncEnumerable<NatsKVEntry<byte[]>> watch)
    {
        var p = new WatchProgress();
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in watch)
                {
                    string v = e.Value is null ? "" : Encoding.UTF8.GetString(e.Value);
                    if (v == "v1") p.SawV1 = true;
                    if (v == "v2") p.MarkV2();
                }
            }
            catch (OperationCanceledException) { }
        });
        return p;
    }
}
