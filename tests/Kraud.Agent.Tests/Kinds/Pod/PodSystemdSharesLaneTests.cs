using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Systemd.DBus;
using static Kraud.Agent.Tests.Kinds.Pod.InstalledAgentLane;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// A pod with an nfs Volume under the installed agent with systemd as PID 1 (kernel lane, systemd mode, real ZFS and
/// Debian's virtiofsd): each share's virtiofsd runs as its own `kraud-virtiofsd@…` unit, started over D-Bus before the
/// VM's unit and bound to it, so it is in no cgroup of the agent's and an agent restart leaves it serving its VM.
/// The lane's QEMU emulates SVM, so the real kraud-vmm runs the idle test guest and connects to the daemons' sockets.
/// </summary>
[Collection(InstalledAgentLane.Collection), Trait("lane", "systemd"), Trait("systemd", "pod-units")]
public sealed class PodSystemdSharesLaneTests : NatsTestBase
{
    private const string Host = "lane-pod-fs", PodId = "pod-fs", VolumeId = "data";
    private readonly BaliSigner _signer = new();
    private SystemdManager _systemd = null!;
    private TestZpool? _pool;

    public override async Task InitializeAsync()
    {
        RequireSystemd();
        await base.InitializeAsync();
        _systemd = await SystemdManager.ConnectAsync();
    }

    public override async Task DisposeAsync()
    {
        await StopAsync(_systemd, "kraud-agent.service", SystemdVmSupervisor.UnitOf(PodId), ShareUnit("fs0"), ShareUnit("fs1"));
        foreach (var mount in Kraud.Libc.Mounts.Below(Path.Combine(RunDir, PodId))) Kraud.Libc.Mounts.Detach(mount);
        if (Directory.Exists(Path.Combine(RunDir, PodId))) Directory.Delete(Path.Combine(RunDir, PodId), recursive: true);
        if (_pool is not null) await _pool.DisposeAsync();
        _systemd?.Dispose();
        await base.DisposeAsync();
    }

    private static string ShareUnit(string tag) => SystemdShareDaemons.UnitOf(Path.Combine(RunDir, PodId, tag + ".env"));

    [Fact]
    public async Task Each_share_of_a_pod_runs_as_a_virtiofsd_unit_bound_to_the_VM_that_an_agent_restart_leaves_running()
    {
        _pool = await TestZpool.CreateAsync("kps"); // zfs loaded before the agent looks for it
        await InstalledAgentLane.StartAsync(_systemd, Host, Nats, Cp, _signer);

        await Cp.PublishAsync(Host, "Volume", VolumeId, 1, $$"""{ "pool": "{{_pool.Name}}", "class": "nfs", "sizeBytes": {{64L << 20}} }""");
        var volume = await Cp.WaitForStatusAsync(Host, "volume", VolumeId, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
        Assert.True(volume.Phase == ResourceStatus.Ready, volume.Message);
        string mountpoint = (await TestZpool.Zfs("get", "-H", "-o", "value", "mountpoint", $"{_pool.Name}/kraud/{VolumeId}")).Trim();
        File.WriteAllText(Path.Combine(mountpoint, "hello.txt"), "from the host");

        string image = BaliImage(_signer, out string sha);
        string spec = $$"""
            { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default", "restart": "always",
              "volumes": [ { "name": "data", "volume": "{{VolumeId}}" } ],
              "containers": [ { "name": "app", "image": { "bali": "{{image}}", "sha256": "{{sha}}" },
                                "volumeMounts": [ { "volume": "data", "guestPath": "/data" },
                                                  { "volume": "data", "volumePath": "reports", "guestPath": "/reports", "readOnly": true } ] } ] }
            """;
        await Cp.PublishAsync(Host, "Pod", PodId, 1, spec);
        var ready = await Cp.WaitForStatusAsync(Host, "pod", PodId, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(180));
        Assert.True(ready.Phase == ResourceStatus.Ready, ready.Message + "\n" + JournalText(ShareUnit("fs0")) + JournalText(SystemdVmSupervisor.UnitOf(PodId)));

        // Each share's daemon is its own unit, serving the dataset's mountpoint (fs0) or a read-only view of a directory of it (fs1).
        string podDir = Path.Combine(RunDir, PodId);
        var daemons = new Dictionary<string, UnitState>();
        foreach (var (tag, source) in new[] { ("fs0", mountpoint), ("fs1", Path.Combine(podDir, "ro-fs1")) })
        {
            var unit = await _systemd.GetUnitStateAsync(ShareUnit(tag));
            Assert.True(unit is { ActiveState: UnitActiveState.Active, MainPid: > 0 }, unit.ToString());
            string cmdline = Cmdline(unit.MainPid);
            Assert.Contains("/usr/lib/qemu/virtiofsd", cmdline);
            Assert.Contains($"--socket-path={Path.Combine(podDir, tag + ".sock")}", cmdline);
            Assert.Contains($"source={source}", cmdline);
            // In the daemon's own cgroup, not the agent's (which an agent restart would empty).
            string cgroup = File.ReadAllText($"/proc/{unit.MainPid}/cgroup");
            Assert.Contains("/" + ShareUnit(tag), cgroup);
            Assert.DoesNotContain("kraud-agent.service", cgroup);
            Assert.True(File.Exists(Path.Combine(podDir, tag + ".sock")));
            daemons[tag] = unit;
        }
        Assert.Equal(daemons.ToDictionary(d => d.Key, d => d.Value.MainPid),
            ready.Observed["shares"]!.AsArray().ToDictionary(s => (string)s!["tag"]!, s => (int)s!["daemonPid"]!));
        var roMount = File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Single(f => f[4] == Path.Combine(podDir, "ro-fs1"));
        Assert.Contains("ro", roMount[5].Split(','));
        // The VMM runs with both shares (it connects to each socket before READY=1, or exits 69).
        var vm = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(PodId));
        Assert.True(vm is { ActiveState: UnitActiveState.Active }, vm.ToString());
        Assert.Equal(vm.MainPid, (int)ready.Observed["vm"]!["pid"]!);
        var launch = JsonNode.Parse(File.ReadAllText(Path.Combine(podDir, "launch.json")))!;
        Assert.Equal(["fs0", "fs1"], launch["shares"]!.AsArray().Select(s => (string)s!["tag"]!).ToList());

        // The Volume's delete is refused while the pod uses it.
        await Cp.PublishAsync(Host, "Volume", VolumeId, 2, deleted: true);
        var refused = await Cp.WaitForStatusAsync(Host, "volume", VolumeId, s => s.Generation == 2 && s.Phase is ResourceStatus.Failed or ResourceStatus.Deleted, TimeSpan.FromSeconds(120));
        Assert.Equal(ResourceStatus.Failed, refused.Phase);
        Assert.Contains("used by a pod", refused.Message);

        // An agent restart leaves the daemons and the VM as they were.
        Assert.True((await _systemd.RestartUnitAsync("kraud-agent.service")).Succeeded);
        await Cp.PublishAsync(Host, "Pod", PodId, 2, spec);
        var resynced = await Cp.WaitForStatusAsync(Host, "pod", PodId, s => s.Generation == 2 && s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(150));
        Assert.True(resynced.Phase == ResourceStatus.Ready, resynced.Message);
        foreach (var (tag, before) in daemons)
        {
            var after = await _systemd.GetUnitStateAsync(ShareUnit(tag));
            Assert.Equal((UnitActiveState.Active, before.MainPid, before.ActiveEnterTimestamp), (after.ActiveState, after.MainPid, after.ActiveEnterTimestamp));
        }
        Assert.Equal(vm.MainPid, (await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(PodId))).MainPid);
        // The new agent reports the daemons it found (their units' pids), not none.
        Assert.Equal(daemons.ToDictionary(d => d.Key, d => d.Value.MainPid),
            resynced.Observed["shares"]!.AsArray().ToDictionary(s => (string)s!["tag"]!, s => (int?)s!["daemonPid"] ?? 0));

        // The pod's delete stops the VM and its daemons and leaves no unit drop-in, mount or file; then the Volume's delete goes through.
        await Cp.PublishAsync(Host, "Pod", PodId, 3, deleted: true);
        var deleted = await Cp.WaitForStatusAsync(Host, "pod", PodId, s => s.Generation == 3 && s.Phase is ResourceStatus.Deleted or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
        Assert.True(deleted.Phase == ResourceStatus.Deleted, deleted.Message);
        foreach (var tag in daemons.Keys)
        {
            var gone = await _systemd.GetUnitStateAsync(ShareUnit(tag));
            Assert.True(gone.ActiveState == UnitActiveState.Inactive, gone.ToString());
            Assert.False(Directory.Exists(Path.Combine(DropIns, ShareUnit(tag) + ".d")));
            Assert.False(File.Exists($"/proc/{daemons[tag].MainPid}/cmdline") && Cmdline(daemons[tag].MainPid).Contains("virtiofsd"));
        }
        Assert.Empty(Kraud.Libc.Mounts.Below(podDir));
        Assert.False(Directory.Exists(podDir));
        Assert.Equal("from the host", File.ReadAllText(Path.Combine(mountpoint, "hello.txt")));
        // The refused delete is retried (with backoff) and goes through now.
        var volumeGone = await Cp.WaitForStatusAsync(Host, "volume", VolumeId, s => s.Phase is ResourceStatus.Deleted, TimeSpan.FromSeconds(240));
        Assert.False(TestZpool.Exists($"{_pool.Name}/kraud/{VolumeId}"), volumeGone.Message);
    }
}
