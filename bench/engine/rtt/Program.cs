// Sequential round trips with our client: one in flight at a time, so the time is wire + server + client overhead.
//   rtt-cs nats://127.0.0.1:PORT [count]
using System.Diagnostics;
using Kraud.Nats;
using Kraud.Nats.JetStream;
using Kraud.Nats.JetStream.Models;

string url = args.Length > 0 ? args[0] : "nats://127.0.0.1:4222";
int count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
await using var nc = new NatsConnection(new NatsOpts { Url = url, Name = "rtt-cs" });
await nc.ConnectAsync();
var js = new NatsJSContext(nc);
try
{
    await js.CreateStreamAsync(new StreamConfig { Name = "RTT", Subjects = ["rtt.>"], MaxMsgsPerSubject = 1, Storage = StreamConfigStorage.File });
}
catch (NatsJSApiException e) when (e.ErrCode == 10058)
{
}
byte[] payload = "{\"desiredSeq\":1}"u8.ToArray();
await js.PublishAsync("rtt.cs", payload);

await Measure("ping (PING/PONG)", async () => await nc.PingAsync());
await Measure("js publish + PubAck", async () => await js.PublishAsync("rtt.cs", payload));
await Measure("STREAM.MSG.GET last_by_subj", async () => await js.GetLastMsgBySubjectAsync("RTT", "rtt.cs"));

async Task Measure(string what, Func<Task> op)
{
    for (int i = 0; i < count / 10; i++) await op();
    var times = new double[count];
    for (int i = 0; i < count; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        await op();
        times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }
    Array.Sort(times);
    Console.WriteLine($"cs   {what,-30} p50 {times[count / 2]:0.000} ms  p90 {times[count * 9 / 10]:0.000} ms  mean {times.Average():0.000} ms");
}
