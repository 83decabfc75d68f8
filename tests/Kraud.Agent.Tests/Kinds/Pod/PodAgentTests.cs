using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Net.Rtnl;
using Kraud.Vmm.Tests;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// End to end through the published kraud-agent: a Pod envelope on KRAUD_DESIRED → the agent pulls from the real
/// registry (configured in its file), starts kraud-vmm (beside it) with the idle test guest, and reports Ready with
/// the VM running; an unchanged generation touches nothing; the delete leaves nothing. The agent runs in the host's
/// namespace (it reaches nats-server on loopback), so the tap and its routes are made there, with addresses of their own.
/// Its agent uses the host's own /run/kraud/vm, which every agent reads for its pods: while one of these runs, any other
/// test's agent would list the pod as an orphan, so the class runs alone (<see cref="HostRunDir"/>).
/// </summary>
[Collection(HostRunDir.Name)]
public sealed class PodAgentTests(PodRegistry registry) : NatsTestBase, IClassFixture<PodRegistry>
{
    private readonly string _id = "pod-e2e-" + Guid.NewGuid().ToString("N")[..6];
    private AgentProcess? _agent;
    private readonly NotifyListener _notify = new();

    private string Spec() => $$"""
        { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default",
          "containers": [ { "name": "app", "image": { "ref": "{{registry.Server.Host}}/test/app:v1" } } ],
          "network": { "ip6": "fd42:1a8:e2e::17", "ip4": "10.231.0.17" } }
        """;

    private void StartAgent()
    {
        string guest = Path.Combine(Dir.Path, "guest", "default");
        Directory.CreateDirectory(guest);
        File.Copy(TestGuests.Path("idle"), Path.Combine(guest, "kernel"), overwrite: true);
        File.WriteAllText(Path.Combine(guest, "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel"}}""");
        string config = Dir.Write("agent.json", $$"""
            { "host": "h1", "stateDir": "{{Path.Combine(Dir.Path, "state")}}", "nats": { "servers": ["{{Nats.Url}}"] },
              "guestDir": "{{Path.Combine(Dir.Path, "guest")}}",
              "registries": [ { "host": "{{registry.Server.Host}}", "plainHttp": true } ],
              "imageCache": { "maxBytes": 1073741824, "graceSeconds": 3600 } }
            """);
        _agent = AgentProcess.Start(["run", "--config", config], new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = _notify.Address });
    }

    /// <summary>Starts the agent and waits until it serves (its STATUS=Ready line), so its streams exist.</summary>
    private async Task StartServingAgentAsync()
    {
        StartAgent();
        await Deadline.WaitUntilAsync(() => _notify.Messages.Any(m => m.Text.StartsWith("STATUS=Ready: host", StringComparison.Ordinal)) || _agent!.HasExited,
            TimeSpan.FromSeconds(30), "the agent to serve");
        Assert.False(_agent!.HasExited, string.Join("\n", _agent.Stderr));
    }

    [Fact]
    public async Task A_published_pod_runs_and_an_unchanged_generation_touches_nothing_and_its_delete_leaves_nothing()
    {
        await StartServingAgentAsync();

        await Cp.PublishAsync("h1", "Pod", _id, 1, Spec());
        var ready = await Cp.WaitForStatusAsync("h1", "pod", _id, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(60));
        Assert.True(ready.Phase == ResourceStatus.Ready, ready.Message + "\n" + string.Join("\n", _agent!.Stderr.TakeLast(30)));
        var vm = ready.Observed["vm"]!;
        Assert.Equal("Running", (string?)vm["state"]);
        int pid = (int)vm["pid"]!;
        Assert.True(File.Exists($"/proc/{pid}/status"));
        Assert.Equal(Path.Combine(Path.GetDirectoryName(AgentBinary.Path)!, "kraud-vmm"), new FileInfo($"/proc/{pid}/exe").LinkTarget);
        string tap = PodTap.NameOf(_id);
        Assert.Equal(tap, (string?)ready.Observed["network"]!["tap"]);
        using (var rt = RtNetlink.Open()) Assert.Equal(PodTap.OwnerAlias(_id), rt.LinkGet(tap).Alias);
        Assert.Contains("10.231.0.17", Cmd.Run("ip", "-4", "route", "show", "proto", "75", "dev", tap));

        // `kraud-agent get pod ID` shows the VM, its addresses and images.
        var (code, shown) = Cmd.TryRun(AgentBinary.Path, "get", "pod", _id, "--server", Nats.Url, "--host", "h1");
        Assert.True(code == 0, shown);
        Assert.Contains("state: Running", shown);
        Assert.Contains($"pid: {pid}", shown);
        Assert.Contains($"tap: {tap}", shown);
        Assert.Contains("ip6: fd42:1a8:e2e::17", shown);
        Assert.Contains("ip4: 10.231.0.17", shown);
        Assert.Contains($"digest: {(string?)ready.Observed["images"]![0]!["digest"]}", shown);

        // The VMM's lines go through the agent's log in the pod's scope.
        Assert.Contains(_agent.Stderr, l => l.Contains("vmm: ", StringComparison.Ordinal) && l.Contains(_id, StringComparison.Ordinal));

        // The host record counts it (written every 10 s).
        var record = await WaitForHostAsync(h => h.Pods?.Ids.Contains(_id) == true);
        Assert.True(record.Pods!.AllocatableVcpus < Environment.ProcessorCount);

        // Generation 2, same spec: Ready at 2 with the same VM.
        await Cp.PublishAsync("h1", "Pod", _id, 2, Spec());
        var second = await Cp.WaitForStatusAsync("h1", "pod", _id, s => s.Generation == 2 && s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(30));
        Assert.Equal(ResourceStatus.Ready, second.Phase);
        Assert.Equal(pid, (int)second.Observed["vm"]!["pid"]!);

        await Cp.PublishAsync("h1", "Pod", _id, 3, deleted: true);
        var deleted = await Cp.WaitForStatusAsync("h1", "pod", _id, s => s.Phase is ResourceStatus.Deleted or ResourceStatus.Failed, TimeSpan.FromSeconds(30));
        Assert.True(deleted.Phase == ResourceStatus.Deleted, deleted.Message + "\n" + string.Join("\n", _agent.Stderr.TakeLast(20)));
        await Deadline.WaitUntilAsync(() => !File.Exists($"/proc/{pid}/status") || File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ"),
            TimeSpan.FromSeconds(5), "the VMM gone");
        using (var rt = RtNetlink.Open()) Assert.Null(rt.LinkFind(tap));
        Assert.False(Directory.Exists(Path.Combine("/run/kraud/vm", _id)));
    }

    [Fact]
    public async Task An_agent_killed_while_its_pod_starts_adopts_its_VM_when_restarted_with_NATS_down_converges_with_one_VM_and_an_agent_restart_leaves_it_running()
    {
        // Serving first: the agent makes the streams, and a publish before them gets no answer.
        await StartServingAgentAsync();
        await Cp.PublishAsync("h1", "Pod", _id, 1, Spec());
        // kill -9 as soon as the VMM exists (before or just after its READY=1, whatever the agent had written by then).
        string pidFile = Path.Combine("/run/kraud/vm", _id, "vmm.pid");
        // (The pid file is written as setsid starts; kraud-vmm is exec'd in that process a moment later.)
        await Deadline.WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Length > 0 && Vmms() == 1, TimeSpan.FromSeconds(60), "the VMM started");
        _agent!.Signal(9);
        await _agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        int first = int.Parse(File.ReadAllText(pidFile));
        Assert.Equal(1, Vmms());
        var deadLog = _agent.Stderr.ToList();
        TimeoutException WithBothLogs(TimeoutException e, string more) =>
            new($"{e.Message}{more}\nkilled agent:\n{string.Join("\n", deadLog)}\nrestarted agent:\n{string.Join("\n", _agent!.Stderr)}", e);

        Replace(_agent);
        // The control plane is down while the agent starts again: the VM the dead agent started is adopted all the same
        // (the new agent's first act, before it reaches NATS), so it is followed from the start, not after the outage.
        await Nats.StopAsync();
        StartAgent();
        try
        {
            await Deadline.WaitUntilAsync(() => _agent!.Stderr.Any(l => l.Contains($"adopted VMM pid {first} of pod {_id}", StringComparison.Ordinal)) || _agent.HasExited,
                TimeSpan.FromSeconds(30), "the new agent to adopt the VM while NATS is down");
        }
        catch (TimeoutException e)
        {
            throw WithBothLogs(e, $"; VMMs of the pod now: {Vmms()}");
        }
        Assert.False(_agent!.HasExited, string.Join("\n", _agent.Stderr));
        Assert.Equal(1, Vmms());
        // Back up: the token the dead agent held is served again. It may have written Ready already, so the status alone
        // does not show the new agent converged: the pid and the VMM count do.
        await Nats.StartAgainAsync();
        ResourceStatus ready;
        try
        {
            ready = await Cp.WaitForStatusAsync("h1", "pod", _id, s => s.Phase == ResourceStatus.Ready && (string?)s.Observed["vm"]?["state"] == "Running",
                TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            throw WithBothLogs(e, "");
        }
        // No second VMM, same pid.
        Assert.Equal(first, (int)ready.Observed["vm"]!["pid"]!);
        Assert.Equal(1, Vmms());

        // A clean stop (SIGTERM) and start of the agent: the VM runs on, adopted again.
        _agent.Signal(15);
        Assert.Equal(0, await _agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, Vmms());
        Replace(_agent);
        var restartedAt = DateTimeOffset.UtcNow;
        StartAgent();
        // Nothing is pending, so nothing is reconciled: the new agent adopts the VM (its host record counts it) ...
        var record = await WaitForHostAsync(h => h.StartedAt >= restartedAt.AddSeconds(-1) && h.Pods?.Ids.Contains(_id) == true);
        Assert.DoesNotContain($"Pod/{_id}", record.Orphans);
        // ... and the next generation with the same spec finds the launch unchanged: same VM.
        await Cp.PublishAsync("h1", "Pod", _id, 2, Spec());
        var again = await Cp.WaitForStatusAsync("h1", "pod", _id, s => s.Generation == 2 && s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(60));
        Assert.True(again.Phase == ResourceStatus.Ready, again.Message);
        Assert.Equal(first, (int)again.Observed["vm"]!["pid"]!);
        Assert.Equal(1, Vmms());

        await Cp.PublishAsync("h1", "Pod", _id, 3, deleted: true);
        var deleted = await Cp.WaitForStatusAsync("h1", "pod", _id, s => s.Phase is ResourceStatus.Deleted or ResourceStatus.Failed, TimeSpan.FromSeconds(30));
        Assert.True(deleted.Phase == ResourceStatus.Deleted, deleted.Message);
        Assert.Equal(0, Vmms());
    }

    private void Replace(AgentProcess old)
    {
        _agent = null;
        old.Dispose();
    }

    /// <summary>kraud-vmm processes (not zombies) running this test's pod's launch file.</summary>
    private int Vmms()
    {
        string launch = Path.Combine("/run/kraud/vm", _id, "launch.json");
        return Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(p => int.TryParse(p, out _)).Count(p =>
        {
            try
            {
                return new FileInfo($"/proc/{p}/exe").LinkTarget?.EndsWith("/kraud-vmm", StringComparison.Ordinal) == true
                    && File.ReadAllText($"/proc/{p}/cmdline").Split('\0').Contains(launch) && !File.ReadAllText($"/proc/{p}/status").Contains("State:\tZ");
            }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });
    }

    private async Task<HostRecord> WaitForHostAsync(Func<HostRecord, bool> condition)
    {
        HostRecord? last = null;
        await Deadline.WaitUntilAsync(async () => (last = await Cp.GetHostAsync("h1")) is { } h && condition(h), TimeSpan.FromSeconds(25), "the host record", 200);
        return last!;
    }

    public override async Task DisposeAsync()
    {
        _agent?.Dispose();
        // VMs outlive their agent: what a failed test leaves of this pod is removed below.
        _notify.Dispose();
        // What a failed test may leave: the VMM (a child the agent does not take with it) and the tap.
        string pidFile = Path.Combine("/run/kraud/vm", _id, "vmm.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile), out int pid)) Kraud.Libc.Native.kill(pid, 9);
        using (var rt = RtNetlink.Open()) if (rt.LinkFind(PodTap.NameOf(_id)) is { } l) rt.LinkDel(l.Index);
        if (Directory.Exists(Path.Combine("/run/kraud/vm", _id))) Directory.Delete(Path.Combine("/run/kraud/vm", _id), true);
        await base.DisposeAsync();
    }
}

/// <summary>Tests whose agents use the host's /run/kraud/vm, which every agent on the machine reads: run with no other test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostRunDir
{
    public const string Name = "the host's /run/kraud/vm";
}
