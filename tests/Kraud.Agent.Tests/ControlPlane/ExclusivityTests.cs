namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>Two agents on one host id share the work: never two reconciles of one resource at once, nothing lost.</summary>
public sealed class ExclusivityTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private NatsServer _nats = null!;
    private AgentUnderTest _a = null!, _b = null!;
    private TestControlPlane _cp = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _a = new AgentUnderTest(_dir, "a", "h1", _nats.Url, concurrency: 8);
        await _a.WaitServingAsync();
        _b = new AgentUnderTest(_dir, "b", "h1", _nats.Url, concurrency: 8);
        await _b.WaitServingAsync();
        _cp = await TestControlPlane.ConnectAsync(_nats.Url);
    }

    [Fact]
    public async Task No_overlap_per_resource_every_resource_ends_at_its_last_generation()
    {
        const int resources = 200, generations = 6; // created, then updated 5 times
        var ids = Enumerable.Range(0, resources).Select(i => $"r{i:000}").ToList();
        for (int gen = 1; gen <= generations; gen++)
        {
            await Task.WhenAll(ids.Select(id => _cp.PublishAsync("h1", "Probe", id, gen, """{"holdMs":40}""")));
            if (gen < generations)
            {
                // Publish the next generation while work is under way: wait until reconciles have started.
                int entered = _a.ProbeEvents().Count + _b.ProbeEvents().Count;
                await Deadline.WaitUntilAsync(() => _a.ProbeEvents().Count + _b.ProbeEvents().Count >= entered + 16, TimeSpan.FromSeconds(30), "reconciles in progress");
            }
        }

        List<ProbeEvent> events = [];
        await Deadline.WaitUntilAsync(async () =>
        {
            var all = await _cp.AllStatusesAsync();
            // The assertions below use this same snapshot, taken when no reconcile was running.
            events = _a.ProbeEvents().Concat(_b.ProbeEvents()).ToList();
            bool quiet = events.Count(e => e.What == "enter") == events.Count(e => e.What is "exit" or "cancel");
            return quiet && ids.All(id => all.TryGetValue($"h1.probe.{id}", out var s) && s.Phase == "Ready" && s.Generation == generations);
        }, TimeSpan.FromSeconds(120), "every resource Ready at its last generation, no reconcile running");

        Assert.Contains(events, e => e.Pid == _a.Process.Pid);
        Assert.Contains(events, e => e.Pid == _b.Process.Pid); // both agents took work
        foreach (var group in events.GroupBy(e => e.Id))
        {
            // Pair each enter with the exit of the same process; intervals of one resource must not overlap.
            var intervals = new List<(long Start, long End, int Pid)>();
            var open = new Dictionary<int, long>();
            foreach (var e in group.OrderBy(e => e.Ns))
            {
                if (e.What == "enter") open[e.Pid] = e.Ns;
                else if (open.Remove(e.Pid, out long start)) intervals.Add((start, e.Ns, e.Pid));
            }
            Assert.Empty(open); // every reconcile finished
            intervals.Sort();
            for (int i = 1; i < intervals.Count; i++)
                Assert.True(intervals[i].Start >= intervals[i - 1].End,
                    $"{group.Key}: reconcile in pid {intervals[i].Pid} started {(intervals[i - 1].End - intervals[i].Start) / 1e6:0.00} ms before pid {intervals[i - 1].Pid}'s ended");
        }
        Assert.Equal(resources, events.Select(e => e.Id).Distinct().Count());
    }

    public async Task DisposeAsync()
    {
        await _cp.DisposeAsync();
        _a.Dispose();
        _b.Dispose();
        await _nats.DisposeAsync();
        _dir.Dispose();
    }
}
