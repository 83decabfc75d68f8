using System.Text;
using Kraud.Nats.JetStream;
using Kraud.Nats.JetStream.Models;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class JetStreamTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>KRAUD_WORK as in contract section 1.</summary>
    internal static StreamConfig WorkStream(int replicas = 1) => new("KRAUD_WORK", ["kraud.work.>"])
    {
        Retention = StreamConfigRetention.Workqueue,
        MaxMsgsPerSubject = 1,
        Discard = StreamConfigDiscard.New,
        DiscardNewPerSubject = true,
        DuplicateWindow = TimeSpan.FromMinutes(2),
        Storage = StreamConfigStorage.File,
        NumReplicas = replicas,
    };

    internal static ConsumerConfig WorkConsumer(string host, TimeSpan ackWait) => new($"work-{host}")
    {
        FilterSubject = $"kraud.work.{host}.>",
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        AckWait = ackWait,
        MaxDeliver = -1,
        MaxAckPending = 8,
    };

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task Stream_and_consumer_create_info_update()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);

        await Assert.ThrowsAsync<NatsJSApiException>(async () => await js.GetStreamAsync("KRAUD_WORK"));
        var created = await js.CreateStreamAsync(WorkStream());
        Assert.True(created.Info.DidCreate);
        var again = await js.CreateStreamAsync(WorkStream()); // identical config: idempotent
        Assert.Equal(created.Info.Created, again.Info.Created);

        var info = (await js.GetStreamAsync("KRAUD_WORK")).Info.Config;
        Assert.Equal(StreamConfigRetention.Workqueue, info.Retention);
        Assert.Equal(StreamConfigDiscard.New, info.Discard);
        Assert.True(info.DiscardNewPerSubject);
        Assert.Equal(1, info.MaxMsgsPerSubject);
        Assert.Equal(TimeSpan.FromMinutes(2), info.DuplicateWindow);
        Assert.Equal(["kraud.work.>"], info.Subjects!);

        // Another config under the same name: 10058 on create, accepted by update.
        var changed = WorkStream() with { Description = "changed" };
        var ex = await Assert.ThrowsAsync<NatsJSApiException>(async () => await js.CreateStreamAsync(changed));
        Assert.Equal(10058, ex.ErrCode);
        var updated = await js.CreateOrUpdateStreamAsync(changed);
        Assert.Equal("changed", updated.Info.Config.Description);

        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        Assert.Equal("work-h1", consumer.Name);
        var ci = (await js.GetConsumerAsync("KRAUD_WORK", "work-h1")).Info.Config;
        Assert.Equal("kraud.work.h1.>", ci.FilterSubject);
        Assert.Equal(TimeSpan.FromSeconds(30), ci.AckWait);
        Assert.Equal(-1, ci.MaxDeliver);
        Assert.Equal(8, ci.MaxAckPending);
        var c2 = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(20)));
        Assert.Equal(TimeSpan.FromSeconds(20), c2.Info.Config.AckWait);
        var notFound = await Assert.ThrowsAsync<NatsJSApiException>(async () => await js.GetConsumerAsync("KRAUD_WORK", "nope"));
        Assert.Equal(10014, notFound.ErrCode);
    }

    [Fact]
    public async Task Second_token_for_a_held_subject_is_refused_with_10077_and_msg_id_dedupes()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(WorkStream());

        var ack = await js.PublishAsync("kraud.work.h1.volume.v1", B("{\"desiredSeq\":1}"), new NatsJSPubOpts { MsgId = "d-1" });
        Assert.Equal("KRAUD_WORK", ack.Stream);
        Assert.Equal(1UL, ack.Seq);
        Assert.False(ack.Duplicate);

        var dup = await js.PublishAsync("kraud.work.h1.volume.v1", B("{\"desiredSeq\":1}"), new NatsJSPubOpts { MsgId = "d-1" });
        Assert.True(dup.Duplicate);
        Assert.Equal(1UL, dup.Seq);

        var busy = await Assert.ThrowsAsync<NatsJSApiException>(async () =>
            await js.PublishAsync("kraud.work.h1.volume.v1", B("{\"desiredSeq\":2}"), new NatsJSPubOpts { MsgId = "d-2" }));
        Assert.Equal(10077, busy.ErrCode);
        Assert.Equal(503, busy.Code);
        Assert.Contains("maximum messages per subject exceeded", busy.Description);

        var tried = await js.TryPublishAsync("kraud.work.h1.volume.v1", B("x"));
        Assert.False(tried.IsSuccess);
        Assert.Equal(10077, tried.Error!.ErrCode);

        // Another resource is not blocked.
        Assert.Equal(2UL, (await js.PublishAsync("kraud.work.h1.volume.v2", B("x"))).Seq);

        // Acking the token frees the subject.
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        var msg = await consumer.NextAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(msg);
        Assert.Equal("kraud.work.h1.volume.v1", msg.Value.Subject);
        await msg.Value.AckAsync();
        Assert.True((await js.PublishAsync("kraud.work.h1.volume.v1", B("{\"desiredSeq\":2}"))).Seq > 2);

        // No stream on the subject: 503 no responders after the retries.
        await Assert.ThrowsAsync<NatsNoRespondersException>(async () => await js.PublishAsync("nostream.x", B("x")));
    }

    [Fact]
    public async Task A_fetch_stopped_early_hands_back_what_it_had_not_yielded()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 3; i++) await js.PublishAsync($"kraud.work.h1.pod.p{i}", B($"p{i}"));

        using var stop = new CancellationTokenSource();
        NatsJSMsg? first = null;
        try
        {
            await foreach (var m in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(10) }, stop.Token))
            {
                first = m;
                // All three delivered: the info reply comes on the same socket after them, so they are buffered.
                await Deadline.WaitUntilAsync(async () => { await consumer.RefreshAsync(); return consumer.Info.NumAckPending == 3; },
                    TimeSpan.FromSeconds(10), "all three delivered");
                stop.Cancel(); // as the agent's work loop does at SIGTERM
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.NotNull(first);

        // The two never yielded come back now, long before ack_wait (30 s); the one taken stays with its taker.
        var back = new List<string>();
        await foreach (var m in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(3) }))
            back.Add(m.Subject);
        Assert.Equal(2, back.Count);
        Assert.DoesNotContain(first.Value.Subject, back);
    }

    [Fact]
    public async Task Fetch_metadata_nak_with_delay_and_term()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 3; i++) await js.PublishAsync($"kraud.work.h1.pod.p{i}", B($"p{i}"), headers: new NatsHeaders { { "X-I", $"{i}" } });

        var got = new List<NatsJSMsg>();
        await foreach (var m in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(2) })) got.Add(m);
        Assert.Equal(3, got.Count);
        var md = got[1].Metadata!.Value;
        Assert.Equal("KRAUD_WORK", md.Stream);
        Assert.Equal("work-h1", md.Consumer);
        Assert.Equal(2UL, md.Sequence.Stream);
        Assert.Equal(2UL, md.Sequence.Consumer);
        Assert.Equal(1UL, md.NumDelivered);
        Assert.Equal(1UL, md.NumPending);
        Assert.True(DateTimeOffset.UtcNow - md.Timestamp < TimeSpan.FromMinutes(1));
        Assert.Equal("1", got[1].Headers!["X-I"]);

        await got[0].AckAsync();
        await got[1].NakAsync(TimeSpan.FromMilliseconds(1500));
        await got[2].AckTerminateAsync();
        var nakAt = DateTime.UtcNow;

        var redelivered = await consumer.NextAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(redelivered);
        Assert.True(DateTime.UtcNow - nakAt >= TimeSpan.FromMilliseconds(1200), "NAK delay must hold the message back");
        Assert.Equal("kraud.work.h1.pod.p1", redelivered.Value.Subject);
        Assert.Equal(2UL, redelivered.Value.Metadata!.Value.NumDelivered);
        await redelivered.Value.AckAsync();

        var stream = await js.GetStreamAsync("KRAUD_WORK");
        Assert.Equal(0UL, stream.Info.State.Messages); // acked and terminated tokens are gone from the workqueue

        // Nothing left: a no-wait fetch ends at once with nothing.
        var none = 0;
        await foreach (var _ in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 5, NoWait = true, Expires = TimeSpan.FromSeconds(1) })) none++;
        Assert.Equal(0, none);
    }

    [Fact]
    public async Task Consume_loop_receives_everything_with_small_batches()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(30)) with { MaxAckPending = 1000 });
        const int n = 500;
        for (var i = 0; i < n; i++) await js.PublishAsync($"kraud.work.h1.pod.p{i}", B($"{i}"));

        using var cts = new CancellationTokenSource(Wait);
        var seen = new HashSet<string>();
        await foreach (var m in consumer.ConsumeAsync(new NatsJSConsumeOpts { MaxMsgs = 16, Expires = TimeSpan.FromSeconds(5) }, cts.Token))
        {
            seen.Add(Encoding.UTF8.GetString(m.Data.Span));
            await m.AckAsync(new NatsJSAckOpts { DoubleAck = false });
            if (seen.Count == n) break;
        }
        Assert.Equal(n, seen.Count);
    }

    [Fact]
    public async Task Last_message_by_subject_and_purge_by_subject()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(new StreamConfig("KRAUD_DESIRED", ["kraud.desired.>"]) { MaxMsgsPerSubject = 1, Discard = StreamConfigDiscard.Old });
        await js.PublishAsync("kraud.desired.h1.volume.v1", B("gen1"));
        var ack2 = await js.PublishAsync("kraud.desired.h1.volume.v1", B("gen2"), headers: new NatsHeaders { { "X-Gen", "2" } });
        await js.PublishAsync("kraud.desired.h1.volume.v2", B("other"));

        var last = await js.GetLastMsgBySubjectAsync("KRAUD_DESIRED", "kraud.desired.h1.volume.v1");
        Assert.NotNull(last);
        Assert.Equal("gen2", Encoding.UTF8.GetString(last.Data.Span));
        Assert.Equal(ack2.Seq, last.Sequence);
        Assert.Equal("2", last.Headers!["X-Gen"]);
        Assert.Equal("kraud.desired.h1.volume.v1", last.Subject);
        Assert.True(DateTimeOffset.UtcNow - last.Time < TimeSpan.FromMinutes(1));
        Assert.Null(await js.GetLastMsgBySubjectAsync("KRAUD_DESIRED", "kraud.desired.h1.volume.none"));

        var purged = await js.PurgeStreamAsync("KRAUD_DESIRED", new StreamPurgeRequest { Filter = "kraud.desired.h1.volume.v1" });
        Assert.Equal(1UL, purged);
        Assert.Null(await js.GetLastMsgBySubjectAsync("KRAUD_DESIRED", "kraud.desired.h1.volume.v1"));
        Assert.NotNull(await js.GetLastMsgBySubjectAsync("KRAUD_DESIRED", "kraud.desired.h1.volume.v2"));
    }

    [Fact]
    public async Task Wpi_and_ack_are_confirmed_while_the_server_runs_and_not_while_it_is_frozen()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(WorkStream());
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", WorkConsumer("h1", TimeSpan.FromSeconds(30)));
        await js.PublishAsync("kraud.work.h1.volume.v1", B("a"));
        await js.PublishAsync("kraud.work.h1.volume.v2", B("b"));
        var held = new List<NatsJSMsg>();
        await foreach (var m in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 2, Expires = TimeSpan.FromSeconds(5) })) held.Add(m);
        Assert.Equal(2, held.Count);

        Assert.True(await held[0].TryAckProgressAsync(TimeSpan.FromSeconds(2)));
        await held[0].AckProgressAsync(); // throws when not confirmed

        server.Freeze();
        try
        {
            var started = DateTime.UtcNow;
            Assert.False(await held[0].TryAckProgressAsync(TimeSpan.FromMilliseconds(500)));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
            Assert.False(await held[1].TryAckAsync(TimeSpan.FromMilliseconds(500)));
            await Assert.ThrowsAsync<NatsJSAckNotConfirmedException>(async () =>
                await held[1].AckAsync(new NatsJSAckOpts { Timeout = TimeSpan.FromMilliseconds(300) }));
        }
        finally
        {
            server.Thaw();
        }

        Assert.True(await held[1].TryAckAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await held[0].TryAckAsync(TimeSpan.FromSeconds(5)));
        await Deadline.WaitUntilAsync(async () => (await js.GetStreamAsync("KRAUD_WORK")).Info.State.Messages == 0, Wait, "both tokens acked");
    }
}

public sealed class ConfigDiffTests
{
    [Fact]
    public async Task Drift_between_wanted_and_server_config_is_named_field_by_field()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        var wanted = JetStreamTests.WorkStream();
        var stream = await js.CreateStreamAsync(wanted);
        Assert.Empty(ConfigDiff.Differences(wanted, stream.Info.Config));

        var drifted = wanted with { MaxMsgsPerSubject = 5, DiscardNewPerSubject = false, Discard = StreamConfigDiscard.Old };
        var diffs = ConfigDiff.Differences(drifted, stream.Info.Config);
        Assert.Equal(3, diffs.Count);
        Assert.Contains("max_msgs_per_subject: wanted 5, server has 1", diffs);
        Assert.Contains("discard: wanted \"old\", server has \"new\"", diffs);

        var consumerWanted = JetStreamTests.WorkConsumer("h1", TimeSpan.FromSeconds(30));
        var consumer = await js.CreateOrUpdateConsumerAsync("KRAUD_WORK", consumerWanted);
        Assert.Equal(["ack_wait: wanted 20000000000, server has 30000000000"], ConfigDiff.Differences(consumerWanted with { AckWait = TimeSpan.FromSeconds(20) }, consumer.Info.Config));
    }
}
