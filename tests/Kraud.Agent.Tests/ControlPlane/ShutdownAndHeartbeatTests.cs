namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>SIGTERM drains (finish within grace, hand back the rest); the host record is written and marked draining.</summary>
public sealed class ShutdownAndHeartbeatTests : NatsTestBase
{

    [Fact]
    public async Task Sigterm_lets_short_work_finish_and_hands_long_work_back_at_once()
    {
        using var a = new AgentUnderTest(Dir, "a", "h1", Nats.Url, graceSeconds: 2);
        await a.WaitServingAsync();
        await Cp.PublishAsync("h1", "Probe", "short", 1, """{"holdMs":1000}""");
        await Cp.PublishAsync("h1", "Probe", "long", 1, """{"holdMs":60000}""");
        await Deadline.WaitUntilAsync(() => a.ProbeEvents().Count(e => e.What == "enter") == 2, TimeSpan.FromSeconds(20), "both reconciles to start");

        a.Process.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await a.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains(a.ProbeEvents(), e => e.Id == "short" && e.What == "exit");
        Assert.Contains(a.ProbeEvents(), e => e.Id == "long" && e.What == "cancel");
        Assert.True(a.Notify.Has("STOPPING=1"));
        Assert.Equal("Ready", (await Cp.GetStatusAsync("h1", "probe", "short"))!.Phase);
        Assert.True((await Cp.GetHostAsync("h1"))!.Draining);

        // Handed back without delay: a second agent gets the long one well before ack_wait (30 s) would return it.
        await Cp.PublishAsync("h1", "Probe", "long", 2, """{"holdMs":0}""");
        var started = DateTime.UtcNow;
        using var b = new AgentUnderTest(Dir, "b", "h1", Nats.Url);
        var s = await Cp.WaitForStatusAsync("h1", "probe", "long", s => s.Phase == "Ready", TimeSpan.FromSeconds(60));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the token came back at once, not after ack_wait");
        Assert.Equal(2, s.Generation);
    }

    /// <summary>
    /// SIGTERM with no grace while the whole concurrency is in work: all eight tokens are handed back at once and a
    /// second agent has every resource Ready well before ack_wait. Before the drain cleared the agent's own ended
    /// pull request first, nats-server 2.9.10 kept one of them until ack_wait (see ControlPlaneService).
    /// </summary>
    [Fact]
    public async Task Sigterm_without_grace_hands_all_eight_tokens_back_at_once()
    {
        using var a = new AgentUnderTest(Dir, "ng", "h7", Nats.Url, graceSeconds: 0);
        await a.WaitServingAsync();
        for (int i = 0; i < 8; i++) await Cp.PublishAsync("h7", "Probe", $"n{i}", 1, """{"holdMs":60000}""");
        await Deadline.WaitUntilAsync(() => a.ProbeEvents().Count(e => e.What == "enter") == 8, TimeSpan.FromSeconds(30), "8 reconciles to hold their tokens");
        a.Process.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await a.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(8, a.ProbeEvents().Count(e => e.What == "cancel"));

        for (int i = 0; i < 8; i++) await Cp.PublishAsync("h7", "Probe", $"n{i}", 2, """{"holdMs":0}""");
        var started = DateTime.UtcNow;
        using var b = new AgentUnderTest(Dir, "ng2", "h7", Nats.Url);
        for (int i = 0; i < 8; i++)
            await Cp.WaitForStatusAsync("h7", "probe", $"n{i}", s => s.Phase == "Ready" && s.Generation == 2, started.AddSeconds(10) - DateTime.UtcNow);
    }

    [Fact]
    public async Task Writes_the_host_record_with_this_hosts_capabilities()
    {
        using var a = new AgentUnderTest(Dir, "hb", "h9", Nats.Url);
        await a.WaitServingAsync();
        var record = await WaitForHostAsync("h9");
        Assert.Equal("0.1.0", record.AgentVersion);
        Assert.False(record.Draining);
        Assert.Equal(Environment.ProcessorCount, record.Resources.Cpus);
        Assert.True(record.Resources.MemoryBytes > 1L << 30);
        Assert.Equal(File.Exists("/dev/kvm"), record.Capabilities.Kvm);
        Assert.Equal(Directory.Exists("/sys/module/zfs"), record.Capabilities.Zfs);
        Assert.Contains(record.Capabilities.Wireguard, new[] { "kernel", "userspace", "none" });
        Assert.True(DateTimeOffset.UtcNow - record.HeartbeatAt < TimeSpan.FromSeconds(30));

        // Every 10 s a new heartbeat.
        var first = record.HeartbeatAt;
        await Deadline.WaitUntilAsync(async () => (await Cp.GetHostAsync("h9"))!.HeartbeatAt > first, TimeSpan.FromSeconds(15), "a second heartbeat");
    }

    [Fact]
    public async Task A_resource_whose_desired_state_is_gone_is_reported_as_an_orphan_not_deleted()
    {
        using (var a = new AgentUnderTest(Dir, "or", "h8", Nats.Url))
        {
            await a.WaitServingAsync();
            await Cp.PublishAsync("h8", "Probe", "kept", 1);
            await Cp.PublishAsync("h8", "Probe", "lost", 1);
            await Cp.WaitForStatusAsync("h8", "probe", "kept", s => s.Phase == "Ready", TimeSpan.FromSeconds(30));
            await Cp.WaitForStatusAsync("h8", "probe", "lost", s => s.Phase == "Ready", TimeSpan.FromSeconds(30));
            Assert.Empty((await WaitForHostAsync("h8")).Orphans);
            a.Process.Signal(ProcessSignals.SigTerm);
            Assert.Equal(0, await a.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        }

        // The control plane loses one desired state; the agent, started again, reports it and touches nothing.
        await Cp.JetStream.PurgeStreamAsync("KRAUD_DESIRED", new() { Filter = "kraud.desired.h8.probe.lost" });
        using var b = new AgentUnderTest(Dir, "or", "h8", Nats.Url);
        await b.WaitServingAsync();
        await Deadline.WaitUntilAsync(async () => (await Cp.GetHostAsync("h8"))!.Orphans.Count > 0, TimeSpan.FromSeconds(30), "an orphan in the host record");
        Assert.Equal(["Probe/lost"], (await Cp.GetHostAsync("h8"))!.Orphans);
        Assert.Equal("Ready", (await Cp.GetStatusAsync("h8", "probe", "lost"))!.Phase);
        Assert.Contains(File.ReadAllLines(Path.Combine(b.StateDir, "applied", "probe.journal")), l => l.StartsWith("lost\t{", StringComparison.Ordinal));
    }

    private async Task<Kraud.Agent.ControlPlane.HostRecord> WaitForHostAsync(string host)
    {
        Kraud.Agent.ControlPlane.HostRecord? r = null;
        await Deadline.WaitUntilAsync(async () => (r = await TryGetHostAsync(host)) is not null, TimeSpan.FromSeconds(20), "the host record");
        return r!;
    }

    private async Task<Kraud.Agent.ControlPlane.HostRecord?> TryGetHostAsync(string host)
    {
        try
        {
            return await Cp.GetHostAsync(host);
        }
        catch (NATS.Client.Core.NatsException)
        {
            return null;
        }
    }
}
