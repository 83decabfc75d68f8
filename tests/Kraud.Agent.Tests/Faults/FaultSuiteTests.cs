using System.Text;
using Kraud.Agent.Tests.ControlPlane;

namespace Kraud.Agent.Tests.Faults;

/// <summary>
/// What a hostile or unlucky day does to the agent (issue 12's fault suite), against a real nats-server and the
/// agent's AOT binary: a server frozen past ack_wait while work runs, the agent killed with -9 while it holds its
/// host's whole concurrency, and a flood of oversized, malformed and poison input between good resources. Run
/// alone: <c>dotnet test tests/Kraud.Agent.Tests --filter "FullyQualifiedName~Faults"</c>.
/// The server restart during work is in Nats/ (200 tokens, 10 runs).
/// </summary>
public sealed class FaultSuiteTests : NatsTestBase
{
    private const string Host = "hf";

    // Room for the 10 MiB envelopes of the flood (the contract's limit is the agent's, not the server's).
    protected override NatsServerOptions ServerOptions => new() { MaxPayload = 16 * 1024 * 1024 };

    public static TheoryData<int> Runs => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

    /// <summary>
    /// SIGSTOP the server for 40 s (past ack_wait, 30 s) while 8 reconciles run: afterwards every resource is Ready
    /// (none stuck Progressing because an ack's confirmation was lost), and no resource is reconciled again after
    /// its ack was confirmed (or learned taken): in the agent's own log, no "probe enter" of a resource follows its
    /// "reconciled: Ready". A reconcile may run twice when its first ack never reached the server; that is the
    /// contract's at-least-once, and idempotent.
    /// </summary>
    [Theory]
    [MemberData(nameof(Runs))]
    public async Task A_server_frozen_past_ack_wait_leaves_nothing_stuck_and_nothing_done_twice_after_a_taken_ack(int run)
    {
        using var agent = new AgentUnderTest(Dir, "frozen", Host, Nats.Url, logLevel: "debug");
        await agent.WaitServingAsync();
        const int count = 60;
        for (int i = 0; i < count; i++) await Cp.PublishAsync(Host, "Probe", $"f{run}-{i}", 1, """{"holdMs":300}""");
        await Deadline.WaitUntilAsync(() => agent.ProbeEvents().Count(e => e.What == "enter") >= 8, TimeSpan.FromSeconds(30), "8 reconciles to run");

        Nats.Freeze();
        try
        {
            // The fault itself: a server that answers nothing for longer than ack_wait.
            await Task.Delay(TimeSpan.FromSeconds(40));
        }
        finally
        {
            Nats.Thaw();
        }

        for (int i = 0; i < count; i++)
        {
            var s = await Cp.WaitForStatusAsync(Host, "probe", $"f{run}-{i}", s => s.Phase == "Ready", TimeSpan.FromSeconds(120));
            Assert.Equal(1, s.Generation);
        }
        Assert.Equal(count, agent.ProbeEvents().Where(e => e.What == "exit").Select(e => e.Id).Distinct().Count());
        var done = new HashSet<string>();
        var violations = new List<string>();
        foreach (string line in agent.Process.Stderr)
        {
            string? id = IdOf(line);
            if (id is null) continue;
            if (line.Contains("reconciled: Ready", StringComparison.Ordinal)) done.Add(id);
            else if (line.Contains("probe enter", StringComparison.Ordinal) && done.Contains(id)) violations.Add(line);
        }
        Assert.True(violations.Count == 0, "reconciled again after a taken ack:\n" + string.Join("\n", violations));
        Assert.False(agent.Process.HasExited);
    }

    private static string? IdOf(string line)
    {
        int i = line.IndexOf(" id=", StringComparison.Ordinal);
        if (i < 0) return null;
        int end = line.IndexOf(' ', i + 4);
        return end < 0 ? line[(i + 4)..] : line[(i + 4)..end];
    }

    /// <summary>
    /// kill -9 with the whole concurrency (8 tokens) in work: the restarted agent hands every one of them back at once
    /// (none waits for ack_wait) and has the first resource Ready within 2 s. Until the hand-back cleared the dead
    /// agent's waiting pull request first, one of the eight came back only after ack_wait, in every run.
    /// </summary>
    [Fact]
    public async Task After_kill_9_with_8_tokens_in_work_all_resume_at_once_and_the_first_is_ready_within_2_s_of_the_restart()
    {
        using var agent = new AgentUnderTest(Dir, "killed", Host, Nats.Url, logLevel: "debug");
        await agent.WaitServingAsync();
        for (int i = 0; i < 8; i++) await Cp.PublishAsync(Host, "Probe", $"k{i}", 1, """{"holdMs":60000}""");
        await Deadline.WaitUntilAsync(() => agent.ProbeEvents().Count(e => e.What == "enter") == 8, TimeSpan.FromSeconds(30), "8 reconciles to hold their tokens");
        agent.Process.Signal(ProcessSignals.SigKill);
        await agent.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        using var dead = agent.Process;
        string journals = string.Join("\n", Directory.EnumerateFiles(Path.Combine(agent.StateDir, "tokens")).Select(f => $"{f}:\n{File.ReadAllText(f)}"));
        // The next generation needs no hold time; its tokens wait behind the dead agent's (one token per resource).
        for (int i = 0; i < 8; i++) await Cp.PublishAsync(Host, "Probe", $"k{i}", 2, """{"holdMs":0}""");

        var restartedAt = DateTime.UtcNow;
        agent.Start();
        string Seen() => $"dead agent:\n{string.Join("\n", dead.Stderr)}\njournals it left:\n{journals}\nprobe events:\n"
            + string.Join("\n", agent.ProbeEvents()) + $"\nrestarted agent:\n{string.Join("\n", agent.Process.Stderr)}";
        try
        {
            // Every token the dead agent held is handed back at once: all eight Ready at generation 2 well before
            // ack_wait (30 s) would have brought any of them back, the first within 2 s.
            for (int i = 0; i < 8; i++)
                await Cp.WaitForStatusAsync(Host, "probe", $"k{i}", s => s.Phase == "Ready" && s.Generation == 2, restartedAt.AddSeconds(10) - DateTime.UtcNow);
            var statuses = (await Cp.AllStatusesAsync()).Values.Where(s => s.Phase == "Ready" && s.Generation == 2).ToList();
            Assert.Equal(8, statuses.Count);
            double firstMs = (statuses.Min(s => s.UpdatedAt) - restartedAt).TotalMilliseconds;
            Assert.True(firstMs < 2000, $"first Ready {firstMs:0} ms after the restart");
        }
        catch (Exception e) when (e is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{Seen()}");
        }
    }

    /// <summary>
    /// 100 oversized and 50 malformed envelopes and 20 poison subjects, interleaved with 100 good resources (each
    /// published twice, so "latest generation" means something): every good one Ready at generation 2, every bad
    /// one Failed naming the problem, the poison tokens counted in the host record, and the agent's memory back
    /// near its baseline after the burst.
    /// </summary>
    [Fact]
    public async Task A_flood_of_bad_input_between_good_resources()
    {
        using var agent = new AgentUnderTest(Dir, "flood", Host, Nats.Url);
        await agent.WaitServingAsync();
        await Cp.PublishAsync(Host, "Probe", "warm", 1);
        await Cp.WaitForStatusAsync(Host, "probe", "warm", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
        long baselineKib = RssKib(agent.Process.Pid);

        var oversized = new List<string>();
        var malformed = new List<string>();
        var good = new List<string>();
        for (int i = 0; i < 100; i++)
        {
            string g = $"good-{i}";
            good.Add(g);
            await Cp.PublishAsync(Host, "Probe", g, 1);
            string big = $"big-{i}";
            oversized.Add(big);
            // Five of them 10 MiB (memory), the rest just over the limit (the store stays small).
            int size = i % 20 == 0 ? 10 * 1024 * 1024 : 300 * 1024;
            await Cp.PublishAsync($"kraud.desired.{Host}.probe.{big}", TestControlPlane.Envelope("Probe", big, 1, $$"""{"pad":"{{new string('x', size)}}"}"""));
            if (i % 2 == 0)
            {
                string bad = $"bad-{i}";
                malformed.Add(bad);
                await Cp.PublishAsync($"kraud.desired.{Host}.probe.{bad}", i % 4 == 0 ? "{ \"apiVersion\": " : "[1,2,3]");
            }
            if (i % 5 == 0)
            {
                // Subjects no status key can carry, straight onto the work queue as a broken control plane might.
                string poison = i % 10 == 0 ? $"caf\u00e9-{i}" : $"%2e%2e-{i}";
                await Cp.PublishAsync($"kraud.work.{Host}.probe.{poison}", Encoding.UTF8.GetBytes("{\"desiredSeq\":1}"));
            }
            await Cp.PublishAsync(Host, "Probe", g, 2);
        }

        foreach (string g in good)
            Assert.Equal(2, (await Cp.WaitForStatusAsync(Host, "probe", g, s => s.Phase == "Ready" && s.Generation == 2, TimeSpan.FromSeconds(120))).Generation);
        foreach (string b in oversized)
            Assert.Contains("over the limit of 262144 (256 KiB)", (await Cp.WaitForStatusAsync(Host, "probe", b, s => s.Phase == "Failed", TimeSpan.FromSeconds(60))).Message);
        foreach (string b in malformed)
        {
            var s = await Cp.WaitForStatusAsync(Host, "probe", b, s => s.Phase == "Failed", TimeSpan.FromSeconds(60));
            Assert.True(s.Message.Contains("not valid JSON", StringComparison.Ordinal) || s.Message.Contains("must be a JSON object", StringComparison.Ordinal), s.Message);
        }
        await Deadline.WaitUntilAsync(async () => (await Cp.GetHostAsync(Host))?.RejectedTokens == 20, TimeSpan.FromSeconds(30), "the host record to count 20 rejected tokens");
        await Deadline.WaitUntilAsync(async () => await Cp.WorkMessagesAsync($"kraud.work.{Host}.>") == 0, TimeSpan.FromSeconds(30), "every token settled");
        Assert.DoesNotContain(agent.Process.Stderr, l => l.Contains('\u00e9') || l.Contains('\0'));

        // Memory: back within 10 MiB of the baseline once the burst is over (the runtime may keep some pages).
        long after = 0;
        try
        {
            await Deadline.WaitUntilAsync(() => (after = RssKib(agent.Process.Pid)) < baselineKib + 10 * 1024, TimeSpan.FromSeconds(30), "RSS back near the baseline");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"RSS {after / 1024} MiB 30 s after the burst, baseline {baselineKib / 1024} MiB");
        }
        Assert.False(agent.Process.HasExited);
    }

    private static long RssKib(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }
}
