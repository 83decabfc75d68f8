namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>
/// A lost hold cancels the reconcile, which then never acks; a killed agent's token comes back after ack_wait
/// (30 s, the contract's value) and completes. Both wait for a real ack_wait, so they take about 40 s each.
/// </summary>
public sealed class HoldAndCrashTests : NatsTestBase
{

    [Fact]
    public async Task A_hold_not_confirmed_while_the_server_is_frozen_cancels_the_work_which_never_acks()
    {
        using var agent = new AgentUnderTest(Dir, "a", "h1", Nats.Url);
        await agent.WaitServingAsync();
        await Cp.PublishAsync("h1", "Probe", "long", 1, """{"holdMs":120000}""");
        await Deadline.WaitUntilAsync(() => agent.ProbeEvents().Any(e => e.What == "enter"), TimeSpan.FromSeconds(20), "the reconcile to start");

        Nats.Freeze();
        long frozenAt = MonotonicNs();
        try
        {
            // The next +WPI (every ack_wait/3 = 10 s) is not confirmed: the reconcile is cancelled while frozen.
            await Deadline.WaitUntilAsync(() => agent.ProbeEvents().Any(e => e.What == "cancel"), TimeSpan.FromSeconds(25), "the reconcile to be cancelled");
        }
        finally
        {
            Nats.Thaw();
        }
        var cancel = agent.ProbeEvents().Single(e => e.What == "cancel");
        Assert.True(cancel.Ns > frozenAt, "cancelled after the freeze");
        Assert.DoesNotContain(agent.ProbeEvents(), e => e.What == "exit");

        // The control plane moves on; the token returns after ack_wait (it was never acked) and the latest spec is served.
        await Cp.PublishAsync("h1", "Probe", "long", 2, """{"holdMs":0}""");
        var ready = await Cp.WaitForStatusAsync("h1", "probe", "long", s => s.Phase == "Ready", TimeSpan.FromSeconds(60));
        Assert.Equal(2, ready.Generation);
        Assert.Equal(2, ready.Attempts); // the same token, delivered a second time: proof the first attempt never acked it
        Assert.Equal(new[] { "enter", "cancel", "enter", "exit" }, agent.ProbeEvents().Select(e => e.What));
    }

    [Fact]
    public async Task A_token_of_a_killed_agent_is_handed_back_at_restart_not_after_ack_wait()
    {
        using var agent = new AgentUnderTest(Dir, "k", "h2", Nats.Url);
        await agent.WaitServingAsync();
        await Cp.PublishAsync("h2", "Probe", "victim", 1, """{"holdMs":1000}""");
        await Deadline.WaitUntilAsync(() => agent.ProbeEvents().Any(e => e.What == "enter"), TimeSpan.FromSeconds(20), "the reconcile to start");
        agent.Process.Signal(ProcessSignals.SigKill);
        await agent.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));

        string firstLog = string.Join("\n", agent.Process.Stderr);
        long restartedAt = MonotonicNs();
        await agent.RestartAsync();
        var ready = await Cp.WaitForStatusAsync("h2", "probe", "victim", s => s.Phase == "Ready", TimeSpan.FromSeconds(60));
        Assert.True(MonotonicNs() - restartedAt < 10_000_000_000, firstLog + "\n---\n" + string.Join("\n", agent.Process.Stderr));
        Assert.Equal(1, ready.Generation);
        var events = agent.ProbeEvents();
        Assert.Equal(new[] { "enter", "enter", "exit" }, events.Select(e => e.What)); // the killed attempt never exited
        // The dead agent's hold is handed back (-NAK from its state-dir record) when the new one starts, so the
        // second attempt begins within 2 s, not after ack_wait (30 s) as it did without the record.
        double startedAfterMs = (events[1].Ns - restartedAt) / 1e6;
        Assert.True(startedAfterMs < 2000, $"the second attempt started {startedAfterMs:0} ms after the restart");
        // The dead agent's journal is gone; only the running agent's own is left.
        Assert.Equal([$"{agent.Process.Pid}.log"], Directory.GetFiles(Path.Combine(agent.StateDir, "tokens")).Select(Path.GetFileName));
    }

    /// <summary>
    /// An agent killed between a token's confirmed +ACK and the status write leaves a resource whose work is done, whose
    /// status never came and whose token is gone. The window is milliseconds (PodAgentTests' kill -9 hit it once in CI:
    /// no status for 60 s), so it is set up here: a resource reconciled, its status deleted, and the journal the killed
    /// agent would have left. The next agent finds the token gone (a new one is not refused) and reconciles it again.
    /// </summary>
    [Fact]
    public async Task A_resource_acked_by_a_killed_agent_before_its_status_is_reconciled_again_at_restart()
    {
        using var agent = new AgentUnderTest(Dir, "acked", "h5", Nats.Url);
        await agent.WaitServingAsync();
        await Cp.PublishAsync("h5", "Probe", "done", 1);
        await Cp.WaitForStatusAsync("h5", "probe", "done", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
        agent.Process.Signal(ProcessSignals.SigKill);
        await agent.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        // What the killed agent's journal says at that moment: taken, never settled. (Its own is empty by now.)
        File.WriteAllText(Path.Combine(agent.StateDir, "tokens", "999999999.log"),
            "+ 1 $JS.ACK.KRAUD_WORK.work-h5.1.1.1.1764950000000000000.0 kraud.work.h5.probe.done\n");
        var status = await new NATS.Client.KeyValueStore.NatsKVContext(Cp.JetStream).GetStoreAsync("KRAUD_STATUS");
        await status.DeleteAsync("h5.probe.done");
        Assert.Null(await Cp.GetStatusAsync("h5", "probe", "done"));

        await agent.RestartAsync();
        var again = await Cp.WaitForStatusAsync("h5", "probe", "done", s => s.Phase == "Ready", TimeSpan.FromSeconds(10));
        Assert.Equal(1, again.Generation);
        Assert.Equal(2, agent.ProbeEvents().Count(e => e.What == "enter"));
        Assert.Contains(agent.Process.Stderr, l => l.Contains("kraud.work.h5.probe.done had no work token left", StringComparison.Ordinal));
    }

    private static long MonotonicNs() => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
}
