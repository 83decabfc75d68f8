using Kraud.Testing;

namespace Kraud.Nats.Tests;

/// <summary>Measures process-wide allocations, so it runs alone (no other test allocating meanwhile).</summary>
[Collection(SerialCollection.Name)]
public sealed class HotPathTests
{
    [Fact]
    public async Task Publish_and_receive_allocate_little_beyond_the_payload()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false });
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url, SubPendingChannelCapacity = 100_000 });
        await using var sub = await nats.SubscribeCoreAsync("hot.path");
        var payload = new byte[100];
        const int warm = 2_000, n = 20_000;

        // Steady flow in batches of 100 (a burst of thousands only measures buffer growth).
        async Task RoundAsync(int count)
        {
            for (var b = 0; b < count; b += 100)
            {
                for (var i = 0; i < 100; i++) await nats.PublishAsync("hot.path", payload);
                for (var i = 0; i < 100; i++) await sub.Msgs.ReadAsync();
            }
        }

        await RoundAsync(warm);
        using var probe = new AllocProbe();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await RoundAsync(n);
        var perMessage = (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)n;

        // The payload array is 100 + 24 bytes of array header; allow a little for timers/async machinery.
        string top; lock (probe.ByType) top = string.Join(", ", probe.ByType.OrderByDescending(kv => kv.Value).Take(8).Select(kv => $"{kv.Key}={kv.Value}"));
        Console.WriteLine($"hot path: {perMessage:0.0} bytes allocated per message (100-byte payload)");
        Assert.True(perMessage < 124 + 40, $"allocated {perMessage:0.0} bytes per message: {top}");
    }
}
