using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Systemd.DBus;
using static Kraud.Agent.Tests.Kinds.Pod.InstalledAgentLane;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// Faults of the systemd backend with the installed agent (kernel lane, systemd mode): a VMM killed with SIGKILL under
/// its `kraud-vm@` unit is started again by the agent's restart policy and the restart reaches the Pod's status; and
/// after systemd re-executed itself and the D-Bus system bus was restarted (the agent's connection to systemd gone),
/// the agent still follows its units: the next kill is handled the same way.
/// </summary>
[Collection(InstalledAgentLane.Collection), Trait("lane", "systemd"), Trait("systemd", "pod-units")]
public sealed class PodSystemdFaultsLaneTests : NatsTestBase
{
    private const string Host = "lane-pod-kill", PodId = "pod-kill";
    private readonly BaliSigner _signer = new();
    private SystemdManager _systemd = null!;

    public override async Task InitializeAsync()
    {
        RequireSystemd();
        await base.InitializeAsync();
        _systemd = await SystemdManager.ConnectAsync();
    }

    public override async Task DisposeAsync()
    {
        _systemd.Dispose();
        _systemd = await SystemdManager.ConnectAsync();
        await StopAsync(_systemd, "kraud-agent.service", SystemdVmSupervisor.UnitOf(PodId));
        if (Directory.Exists(Path.Combine(RunDir, PodId))) Directory.Delete(Path.Combine(RunDir, PodId), recursive: true);
        _systemd.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_killed_VMM_is_restarted_by_the_pods_policy_and_reported_also_after_systemd_and_the_bus_restarted()
    {
        await InstalledAgentLane.StartAsync(_systemd, Host, Nats, Cp, _signer);
        string image = BaliImage(_signer, out string sha);
        await Cp.PublishAsync(Host, "Pod", PodId, 1, $$"""
            { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default", "restart": "always",
              "containers": [ { "name": "app", "image": { "bali": "{{image}}", "sha256": "{{sha}}" } } ] }
            """);
        var ready = await Cp.WaitForStatusAsync(Host, "pod", PodId, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(180));
        Assert.True(ready.Phase == ResourceStatus.Ready, ready.Message);
        int pid = (int)ready.Observed["vm"]!["pid"]!;

        // 1. kill -9 of the VMM: the unit fails (SIGKILL), the agent starts it again (restart: always) and reports it.
        pid = await KillAndSeeRestartAsync(pid, restarts: 1);

        // 2. systemd re-executes itself: its private socket's connections drop, the bus connection sees it go and come back.
        Cmd.Run("systemctl", "daemon-reexec");
        _systemd.Dispose();
        _systemd = await SystemdManager.ConnectAsync();
        pid = await KillAndSeeRestartAsync(pid, restarts: 2);

        // 3. The system bus restarts: the agent's connection to systemd is gone and has to be made again.
        Cmd.Run("systemctl", "restart", "dbus.service");
        _systemd.Dispose();
        await Deadline.WaitUntilAsync(async () =>
        {
            try { _systemd = await SystemdManager.ConnectAsync(); return true; }
            catch (SystemdException) { return false; }
        }, TimeSpan.FromSeconds(60), "systemd reachable after the bus restarted", 500);
        await KillAndSeeRestartAsync(pid, restarts: 3);
        Assert.Contains("following kraud-vm@", Cmd.TryRun("journalctl", "-u", "kraud-agent.service", "-o", "cat", "--no-pager").Output);
    }

    /// <summary>Kills the VMM with SIGKILL; returns the new VMM's pid once the unit runs again and the status says so.</summary>
    private async Task<int> KillAndSeeRestartAsync(int pid, int restarts)
    {
        string unit = SystemdVmSupervisor.UnitOf(PodId);
        Assert.Equal("/usr/bin/kraud-vmm", new FileInfo($"/proc/{pid}/exe").LinkTarget);
        Cmd.Run("kill", "-9", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ResourceStatus? status = null;
        try
        {
            status = await Cp.WaitForStatusAsync(Host, "pod", PodId, s => s.Observed["vm"] is { } vm && (int)vm["restarts"]! == restarts &&
                (string?)vm["state"] == "Running" && (int?)vm["pid"] is { } p && p != pid, TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException e) { throw new TimeoutException(e.Message + "\n" + JournalText("kraud-agent.service") + JournalText(unit), e); }
        var vm = status.Observed["vm"]!;
        Assert.Equal(128 + 9, (int)vm["lastExit"]!["code"]!);
        Assert.Equal(ResourceStatus.Ready, status.Phase);
        int now = (int)vm["pid"]!;
        var state = await _systemd.GetUnitStateAsync(unit);
        Assert.True(state is { ActiveState: UnitActiveState.Active } && state.MainPid == now, state.ToString());
        Assert.Equal("/usr/bin/kraud-vmm", new FileInfo($"/proc/{now}/exe").LinkTarget);
        return now;
    }
}
