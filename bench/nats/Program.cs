// Kraud.Nats microbenchmarks beside the official NATS JavaScript client, against one local nats-server.
// Same four scenarios on both sides; prints a table with the ratio ours/peer (latency: peer/ours, so >1 is better).
using System.Diagnostics;
using System.Text.Json;
using Kraud.Nats;
using Kraud.Nats.JetStream;
using Kraud.Nats.JetStream.Models;
using Kraud.Testing;

var coreN = Arg(0, 200_000);
var reqN = Arg(1, 5_000);
var jsN = Arg(2, 5_000);
await using var server = await NatsServer.StartAsync();
Console.WriteLine($"nats-server on {server.Url}; core {coreN} msgs, {reqN} requests, {jsN} JetStream msgs");

var ours = await RunOursAsync(server.Url);
var peer = await RunPeerAsync(server.Url);

Console.WriteLine();
Console.WriteLine($"{"scenario",-34} {"Kraud.Nats",14} {"nats.js",14} {"ratio",8}");
Row("core pub->sub msgs/s", "coreMsgsPerSec", higherIsBetter: true);
Row("request/reply p50 us", "requestP50Us", higherIsBetter: false);
Row("request/reply p99 us", "requestP99Us", higherIsBetter: false);
Row("JS publish+ack msgs/s (serial)", "jsPublishPerSec", higherIsBetter: true);
Row("JS publish+ack p50 us", "jsPublishP50Us", higherIsBetter: false);
Row("JS publish+ack p99 us", "jsPublishP99Us", higherIsBetter: false);
Row("JS consume+confirmed ack msgs/s", "jsConsumeAckPerSec", higherIsBetter: true);
Console.WriteLine("ratio: ours/peer for rates, peer/ours for latencies (above 1 means Kraud.Nats is better)");

void Row(string name, string key, bool higherIsBetter)
{
    var o = ours[key];
    var p = peer.TryGetValue(key, out var pv) ? pv : double.NaN;
    var ratio = higherIsBetter ? o / p : p / o;
    Console.WriteLine($"{name,-34} {o,14:0} {p,14:0} {ratio,8:0.00}");
}

int Arg(int i, int fallback) => args.Length > i && int.TryParse(args[i], out var v) ? v : fallback;

async Task<Dictionary<string, double>> RunOursAsync(string url)
{
    var r = new Dictionary<string, double>();
    var payload = new byte[128];
    await using var pub = new NatsConnection(new NatsOpts { Url = url, Name = "bench-pub" });
    await using var subc = new NatsConnection(new NatsOpts { Url = url, Name = "bench-sub", SubPendingChannelCapacity = coreN + 10 });

    // 1. core publish -> subscribe throughput
    await using (var sub = await subc.SubscribeCoreAsync("bench.core"))
    {
        await subc.PingAsync();
        var sw = Stopwatch.StartNew();
        var reader = Task.Run(async () => { for (var i = 0; i < coreN; i++) await sub.Msgs.ReadAsync(); });
        for (var i = 0; i < coreN; i++) await pub.PublishAsync("bench.core", payload);
        await reader;
        r["coreMsgsPerSec"] = coreN / sw.Elapsed.TotalSeconds;
    }

    // 2. request/reply latency
    await using (var echo = await subc.SubscribeCoreAsync("bench.echo"))
    {
        var responder = Task.Run(async () => { await foreach (var m in echo.Msgs.ReadAllAsync()) await m.ReplyAsync(m.Data); });
        await subc.PingAsync();
        for (var i = 0; i < reqN / 5; i++) await pub.RequestAsync("bench.echo", payload); // warm-up (JIT), as the peer does
        var lat = new double[reqN];
        for (var i = 0; i < reqN; i++)
        {
            var t = Stopwatch.GetTimestamp();
            await pub.RequestAsync("bench.echo", payload);
            lat[i] = Stopwatch.GetElapsedTime(t).TotalMicroseconds;
        }
        r["requestP50Us"] = Pct(lat, 0.5);
        r["requestP99Us"] = Pct(lat, 0.99);
    }

    // 3. JetStream publish with ack, one at a time
    var js = new NatsJSContext(pub);
    try { await js.DeleteStreamAsync("BENCH_OURS"); } catch (NatsJSApiException) { }
    await js.CreateStreamAsync(new StreamConfig("BENCH_OURS", ["benchours.>"])
    {
        Retention = StreamConfigRetention.Workqueue, MaxMsgsPerSubject = 1, Discard = StreamConfigDiscard.New, DiscardNewPerSubject = true,
    });
    {
        var lat = new double[jsN];
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < jsN; i++)
        {
            var t = Stopwatch.GetTimestamp();
            await js.PublishAsync($"benchours.k{i}", payload, new NatsJSPubOpts { MsgId = $"m-{i}" });
            lat[i] = Stopwatch.GetElapsedTime(t).TotalMicroseconds;
        }
        r["jsPublishPerSec"] = jsN / sw.Elapsed.TotalSeconds;
        r["jsPublishP50Us"] = Pct(lat, 0.5);
        r["jsPublishP99Us"] = Pct(lat, 0.99);
    }

    // 4. JetStream consume with confirmed acks
    {
        var consumer = await js.CreateOrUpdateConsumerAsync("BENCH_OURS", new ConsumerConfig("w") { AckWait = TimeSpan.FromSeconds(30), MaxAckPending = 1000 });
        var sw = Stopwatch.StartNew();
        var got = 0;
        await foreach (var m in consumer.ConsumeAsync(new NatsJSConsumeOpts { MaxMsgs = 100 }))
        {
            await m.AckAsync();
            if (++got == jsN) break;
        }
        r["jsConsumeAckPerSec"] = jsN / sw.Elapsed.TotalSeconds;
    }
    return r;
}

async Task<Dictionary<string, double>> RunPeerAsync(string url)
{
    var dir = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "peer");
    if (!Directory.Exists(Path.Combine(dir, "node_modules", "nats")))
        throw new InvalidOperationException($"run 'npm ci' in {Path.GetFullPath(dir)} first");
    var psi = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "peer.mjs", url, coreN.ToString(), reqN.ToString(), jsN.ToString() }) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var stdout = await p.StandardOutput.ReadToEndAsync();
    var stderr = await p.StandardError.ReadToEndAsync();
    await p.WaitForExitAsync();
    if (p.ExitCode != 0) throw new InvalidOperationException($"peer failed ({p.ExitCode}): {stderr}");
    var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
    var doc = JsonDocument.Parse(line);
    return doc.RootElement.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetDouble());
}

static double Pct(double[] xs, double p)
{
    var s = xs.Order().ToArray();
    return s[Math.Min(s.Length - 1, (int)(p * s.Length))];
}
