using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>
/// The server stops (SIGTERM) while the agent has tokens in work and starts again 2 s later on the same port and
/// store: every resource still ends Ready at its generation, none is lost, and none is reconciled again after its
/// ack was confirmed. Ten runs, because a race shows itself only sometimes.
/// </summary>
public sealed class ServerRestartTests(ITestOutputHelper output) : NatsTestBase
{
    private const int Resources = 200, HoldMs = 100, Concurrency = 8;

    public static TheoryData<int> Runs => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

    [Theory]
    [MemberData(nameof(Runs))]
    public async Task Every_resource_ends_ready_once_when_the_server_restarts_under_work(int run)
    {
        var clock = Stopwatch.StartNew();
        using var agent = new AgentUnderTest(Dir, "a", "h1", Nats.Url, concurrency: Concurrency);
        await agent.WaitServingAsync();
        var ids = Enumerable.Range(0, Resources).Select(i => $"r{i:000}").ToList();
        await Task.WhenAll(ids.Select(id => Cp.PublishAsync("h1", "Probe", id, 1, $$"""{"holdMs":{{HoldMs}}}""")));

        // Stop while work is under way: some resources done, some held right now, most still queued.
        int heldAtStop = 0;
        await Deadline.WaitUntilAsync(() =>
        {
            var now = agent.ProbeEvents();
            heldAtStop = now.Count(e => e.What == "enter") - now.Count(e => e.What is "exit" or "cancel");
            return now.Count(e => e.What == "exit") >= 3 * Concurrency && heldAtStop >= Concurrency / 2;
        }, TimeSpan.FromSeconds(30), "reconciles under way", pollMs: 5);
        await Nats.StopAsync();
        // The outage the issue asks for (2 s), not a wait for behaviour.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await Nats.StartAgainAsync();
        var restartedAt = clock.Elapsed;

        List<ProbeEvent> events = [];
        Dictionary<string, Kraud.Agent.ControlPlane.ResourceStatus> statuses = [];
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                statuses = await Cp.AllStatusesAsync();
            }
            catch (NATS.Client.Core.NatsException)
            {
                return false; // the control plane's connection is still coming back
            }
            events = agent.ProbeEvents().ToList();
            bool quiet = events.Count(e => e.What == "enter") == events.Count(e => e.What is "exit" or "cancel");
            return quiet && ids.All(id => statuses.TryGetValue($"h1.probe.{id}", out var s) && s.Phase == "Ready" && s.Generation == 1);
        }, TimeSpan.FromSeconds(120), "every resource Ready at generation 1 with no reconcile running");

        Assert.False(agent.Process.HasExited);
        string log = string.Join('\n', agent.Process.Stderr);
        var handledAgain = new List<string>();
        int redone = 0;
        foreach (var id in ids)
        {
            var mine = events.Where(e => e.Id == id).ToList();
            int enters = mine.Count(e => e.What == "enter");
            Assert.True(enters >= 1, $"{id} was never reconciled");
            if (enters == 1) continue;
            redone++;
            // Another attempt is right only after one that was not acked: cancelled (hold lost), or finished with an
            // +ACK the server never confirmed and did not take (the agent asked KRAUD_WORK and found it still queued).
            int cancels = mine.Count(e => e.What == "cancel");
            int unconfirmed = Regex.Matches(log, $@"the token is still queued[^\n]*\bid={id}\b").Count;
            if (enters - 1 > cancels + unconfirmed)
                handledAgain.Add($"{id}: {string.Join(", ", mine.Select(e => $"{e.What}#{e.Attempt}"))} (cancels {cancels}, unconfirmed acks {unconfirmed})");
        }
        output.WriteLine($"run {run}: {heldAtStop} reconciling at the stop, {redone} reconciled more than once (each after an attempt that was not acked), " +
            $"all Ready {(clock.Elapsed - restartedAt).TotalSeconds:0.0} s after the restart, {clock.Elapsed.TotalSeconds:0.0} s in all");
        Assert.True(handledAgain.Count == 0, "reconciled again after a confirmed ack:\n" + string.Join('\n', handledAgain) + "\n" +
            string.Join('\n', agent.Process.Stderr.Where(l => l.Contains("warn", StringComparison.Ordinal)).Take(40)));
    }
}
