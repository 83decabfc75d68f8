using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Systemd.DBus;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// The systemd backend as installed: in the kernel lane booted with systemd as PID 1, the agent's .deb (built on the host
/// by scripts/publish and packaging/debian/build-deb) is installed with a configuration that points at the test's
/// nats-server, and the installed agent runs its pods as `kraud-vm@&lt;id&gt;.service` through D-Bus.
/// The lane's QEMU (TCG, `-cpu max`) emulates SVM, so /dev/kvm exists there and the real kraud-vmm runs the idle test
/// guest. The first pod's unit gets a drop-in that makes /dev/kvm inaccessible (InaccessiblePaths=), so its real VMM
/// exits 69 (the host could not provide KVM): the test checks that the unit ran the VMM with the pod's launch file and
/// that the failure reaches the Pod's status. The second pod runs; a third unit (no desired state) is started by the
/// test; the agent's restart leaves both units untouched, adopts the pod (same pid) and reports the other as an orphan.
/// </summary>
[Collection(InstalledAgentLane.Collection), Trait("lane", "systemd")]
public sealed class PodSystemdLaneTests : NatsTestBase
{
    private const string Host = "lane-pod";
    private const string Failing = "pod-lane-kvm", Running = "pod-lane-up", Orphan = "pod-lane-orphan";
    private const string RunDir = "/run/kraud/vm", DropIns = "/run/systemd/system";
    private readonly BaliSigner _signer = new();
    private SystemdManager _systemd = null!;

    public override async Task InitializeAsync()
    {
        InstalledAgentLane.RequireSystemd();
        await base.InitializeAsync();
        _systemd = await SystemdManager.ConnectAsync();
    }

    public override async Task DisposeAsync()
    {
        foreach (var unit in new[] { "kraud-agent.service", SystemdVmSupervisor.UnitOf(Failing), SystemdVmSupervisor.UnitOf(Running), SystemdVmSupervisor.UnitOf(Orphan) })
        {
            try { await _systemd.StopUnitAsync(unit); await _systemd.ResetFailedUnitAsync(unit); }
            catch (SystemdException) { }
        }
        foreach (var id in new[] { Failing, Running, Orphan })
        {
            string dropIn = Path.Combine(DropIns, $"kraud-vm@{id}.service.d");
            if (Directory.Exists(dropIn)) Directory.Delete(dropIn, recursive: true);
            if (Directory.Exists(Path.Combine(RunDir, id))) Directory.Delete(Path.Combine(RunDir, id), recursive: true);
        }
        _systemd?.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task The_installed_agent_runs_pods_as_kraud_vm_units_reports_their_failure_and_a_restart_leaves_them_running()
    {
        await InstalledAgentLane.StartAsync(_systemd, Host, Nats, Cp, _signer);

        // 1. The real VMM, /dev/kvm out of its reach: the unit ran it with the pod's launch file, exit 69, the status says so.
        WriteDropIn(Failing, "InaccessiblePaths=/dev/kvm");
        await _systemd.ReloadAsync();
        await Cp.PublishAsync(Host, "Pod", Failing, 1, Spec());
        var failed = await Cp.WaitForStatusAsync(Host, "pod", Failing, s => s.Phase == ResourceStatus.Failed, TimeSpan.FromSeconds(180));
        Assert.Contains("exited with code 69", failed.Message);
        // The agent retries a transient failure (the unit starts again): wait for a moment between two attempts.
        UnitState? unit = null;
        try
        {
            await Deadline.WaitUntilAsync(async () => (unit = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(Failing))) is
                { ActiveState: UnitActiveState.Failed, ExecMainCode: MainProcessExit.Exited, ExecMainStatus: 69 }, TimeSpan.FromSeconds(60), "the unit failed with 69", 100);
        }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message}; last: {unit}\n{JournalText(SystemdVmSupervisor.UnitOf(Failing))}", e); }
        string launch = Path.Combine(RunDir, Failing, "launch.json");
        Assert.Equal(Failing, (string?)JsonNode.Parse(File.ReadAllText(launch))!["id"]);
        var vmm = Journal(SystemdVmSupervisor.UnitOf(Failing)).Where(e => e.GetValueOrDefault("SYSLOG_IDENTIFIER") == "kraud-vmm").ToList();
        Assert.True(vmm.Count > 0, "no kraud-vmm entry in the unit's journal:\n" + JournalText(SystemdVmSupervisor.UnitOf(Failing)));
        // journald reads _EXE (and _CMDLINE) from /proc when a line arrives: a VMM that exits at once often has none.
        // Where present it must be the VMM; the unit's ExecStart below says what ran.
        Assert.All(vmm.Where(e => e.ContainsKey("_EXE")), e => Assert.Equal("/usr/bin/kraud-vmm", e["_EXE"]));
        // The command line the unit ran.
        string execStart = Cmd.Run("systemctl", "show", "-p", "ExecStart", "--value", SystemdVmSupervisor.UnitOf(Failing));
        Assert.Contains($"argv[]=/usr/bin/kraud-vmm --config {launch} --log-kind Pod ;", execStart);
        Assert.Contains(vmm, e => e.GetValueOrDefault("MESSAGE", "").Contains("/dev/kvm", StringComparison.Ordinal));

        // 2. A pod whose guest runs: Ready with the unit and its main pid (the VMM's).
        await Cp.PublishAsync(Host, "Pod", Running, 1, Spec());
        var ready = await Cp.WaitForStatusAsync(Host, "pod", Running, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
        Assert.True(ready.Phase == ResourceStatus.Ready, ready.Message);
        var before = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(Running));
        Assert.Equal(SystemdVmSupervisor.UnitOf(Running), (string?)ready.Observed["vm"]!["unit"]);
        Assert.Equal(before.MainPid, (int)ready.Observed["vm"]!["pid"]!);
        Assert.Equal("Running", (string?)ready.Observed["vm"]!["state"]);
        Assert.Equal("/usr/bin/kraud-vmm", new FileInfo($"/proc/{before.MainPid}/exe").LinkTarget);
        // The VMM's serial lines are found with the pod's own: `journalctl KRAUD_KIND=Pod KRAUD_ID=<pod>` (issue 14, item 5).
        string podJournal = "";
        await Deadline.WaitUntilAsync(() => (podJournal = Cmd.TryRun("journalctl", $"KRAUD_KIND=Pod", $"KRAUD_ID={Running}", "-o", "cat", "--no-pager").Output)
            .Contains("serial: idle guest up", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the guest's serial line under KRAUD_KIND=Pod", 200);

        // 3. A VM unit of a pod without desired state (left by someone else's agent, say): reported, never stopped.
        Directory.CreateDirectory(Path.Combine(RunDir, Orphan));
        File.WriteAllText(Path.Combine(RunDir, Orphan, "launch.json"), $$"""
            { "id": "{{Orphan}}", "vcpus": 1, "memoryMiB": 32, "kernel": "/usr/lib/kraud/guest/default/kernel", "cmdline": "console=ttyS0",
              "serialLog": "{{RunDir}}/{{Orphan}}/serial.log" }
            """);
        Assert.True((await _systemd.StartUnitAsync(SystemdVmSupervisor.UnitOf(Orphan))).Succeeded);
        var orphanBefore = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(Orphan));

        // 4. The agent restarts (stop, start, READY=1): both units untouched, the pod adopted (same pid), the orphan reported.
        var restartedAt = DateTimeOffset.UtcNow;
        Assert.True((await _systemd.RestartUnitAsync("kraud-agent.service")).Succeeded);
        var record = await WaitForHostAsync(h => h.StartedAt >= restartedAt.AddSeconds(-1) && h.Orphans.Contains($"Pod/{Orphan}") && h.Pods?.Ids.Contains(Running) == true);
        Assert.DoesNotContain($"Pod/{Running}", record.Orphans);
        // Adopted with its launch: a new generation of the same spec is Ready with the same VM.
        await Cp.PublishAsync(Host, "Pod", Running, 2, Spec());
        var resynced = await Cp.WaitForStatusAsync(Host, "pod", Running, s => s.Generation == 2 && s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
        Assert.True(resynced.Phase == ResourceStatus.Ready, resynced.Message);
        Assert.Equal(before.MainPid, (int)resynced.Observed["vm"]!["pid"]!);
        var after = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(Running));
        Assert.Equal((UnitActiveState.Active, before.MainPid, before.ActiveEnterTimestamp, 0u), (after.ActiveState, after.MainPid, after.ActiveEnterTimestamp, after.NRestarts));
        var orphanAfter = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(Orphan));
        Assert.Equal((UnitActiveState.Active, orphanBefore.MainPid), (orphanAfter.ActiveState, orphanAfter.MainPid));

        // 5. Deletes stop the units and leave no files.
        await Cp.PublishAsync(Host, "Pod", Running, 3, deleted: true);
        await Cp.PublishAsync(Host, "Pod", Failing, 3, deleted: true);
        foreach (var id in new[] { Running, Failing })
        {
            var deleted = await Cp.WaitForStatusAsync(Host, "pod", id, s => s.Generation == 3 && s.Phase is ResourceStatus.Deleted or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
            Assert.True(deleted.Phase == ResourceStatus.Deleted, deleted.Message);
            var gone = await _systemd.GetUnitStateAsync(SystemdVmSupervisor.UnitOf(id));
            Assert.True(gone.ActiveState == UnitActiveState.Inactive, gone.ToString());
            Assert.False(Directory.Exists(Path.Combine(RunDir, id)));
        }
    }

    private string? _spec;

    /// <summary>One spec for every pod and generation (one signed image file), so a generation of it changes nothing.</summary>
    private string Spec()
    {
        if (_spec is not null) return _spec;
        string image = Path.Combine("/var/tmp", $"lane-app-{Guid.NewGuid():N}.tar.gz");
        var sha = _signer.WriteImage(image, BaliSigner.Tar(("bin/app", "lane app\n")));
        return _spec = $$"""
            { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default", "restart": "always",
              "containers": [ { "name": "app", "image": { "bali": "file://{{image}}", "sha256": "{{sha.Hex}}" } } ] }
            """;
    }

    /// <summary>A drop-in for one VM's unit (runtime unit directory, gone at power-off; removed at the end).</summary>
    private static void WriteDropIn(string id, string serviceLine)
    {
        string dir = Path.Combine(DropIns, $"kraud-vm@{id}.service.d");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "lane.conf"), $"[Service]\n{serviceLine}\n");
    }

    private async Task<HostRecord> WaitForHostAsync(Func<HostRecord, bool> condition)
    {
        HostRecord? last = null;
        try { await Deadline.WaitUntilAsync(async () => (last = await HostOrNullAsync()) is { } h && condition(h), TimeSpan.FromSeconds(150), "the host record", 500); }
        catch (TimeoutException e) { throw new TimeoutException(e.Message + "; last: " + JsonSerializer.Serialize(last, AgentJsonContext.Default.HostRecord), e); }
        return last!;
    }

    /// <summary>The host record; null while its bucket is not there yet or JetStream is slow to answer (TCG).</summary>
    private async Task<HostRecord?> HostOrNullAsync()
    {
        try { return await Cp.GetHostAsync(Host); }
        catch (NATS.Client.Core.NatsException) { return null; }
    }

    private static List<Dictionary<string, string>> Journal(string unit) =>
        Cmd.TryRun("journalctl", "-u", unit, "-o", "json", "--no-pager").Output.Split('\n').Where(l => l.StartsWith('{')).Select(l =>
        {
            var entry = new Dictionary<string, string>();
            foreach (var p in JsonDocument.Parse(l).RootElement.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.String) entry[p.Name] = p.Value.GetString()!;
            return entry;
        }).ToList();

    private static string JournalText(string unit) => Cmd.TryRun("journalctl", "-u", unit, "-o", "short-precise", "--no-pager").Output;
}
