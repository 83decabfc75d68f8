using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Systemd.DBus;
using static Kraud.Agent.Tests.Kinds.Pod.InstalledAgentLane;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// An lv2 Volume (a zvol) as a pod's disk, end to end with the installed agent in the kernel lane's systemd mode: real
/// ZFS, udev making `/dev/zvol/&lt;pool&gt;/kraud/&lt;id&gt;` (the lane without systemd has no udev, so no such link), and
/// the VM's `kraud-vm@` unit (DeviceAllow=block-zvol) running the real kraud-vmm on the lane's emulated KVM. Two pods:
/// one mounts the volume read-only (the VMM opens the zvol O_RDONLY), one read-write; the Volume's delete is refused
/// while a pod uses it and goes through once the pods are gone.
/// </summary>
[Collection(InstalledAgentLane.Collection), Trait("lane", "systemd"), Trait("systemd", "pod-units")]
public sealed class PodSystemdVolumeLaneTests : NatsTestBase
{
    private const string Host = "lane-pod-zvol", VolumeId = "blk", ReadOnlyPod = "pod-zvol-ro", ReadWritePod = "pod-zvol-rw";
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
        await StopAsync(_systemd, "kraud-agent.service", SystemdVmSupervisor.UnitOf(ReadOnlyPod), SystemdVmSupervisor.UnitOf(ReadWritePod));
        foreach (var id in new[] { ReadOnlyPod, ReadWritePod })
            if (Directory.Exists(Path.Combine(RunDir, id))) Directory.Delete(Path.Combine(RunDir, id), recursive: true);
        if (_pool is not null) await _pool.DisposeAsync();
        _systemd?.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task An_lv2_volume_is_a_disk_of_the_pods_VM_read_only_as_mounted_and_its_delete_waits_for_the_pods()
    {
        _pool = await TestZpool.CreateAsync("kpz");
        await InstalledAgentLane.StartAsync(_systemd, Host, Nats, Cp, _signer);
        await Cp.PublishAsync(Host, "Volume", VolumeId, 1, $$"""{ "pool": "{{_pool.Name}}", "class": "lv2", "sizeBytes": {{32L << 20}} }""");
        var volume = await Cp.WaitForStatusAsync(Host, "volume", VolumeId, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
        Assert.True(volume.Phase == ResourceStatus.Ready, volume.Message);
        string zvol = $"/dev/zvol/{_pool.Name}/kraud/{VolumeId}";
        await Deadline.WaitUntilAsync(() => File.Exists(zvol), TimeSpan.FromSeconds(60), $"udev's {zvol}", 100);
        string device = Path.GetFullPath(new FileInfo(zvol).LinkTarget!, Path.GetDirectoryName(zvol)!); // /dev/zdN

        string image = BaliImage(_signer, out string sha);
        foreach (var (id, readOnly) in new[] { (ReadOnlyPod, true), (ReadWritePod, false) })
        {
            await Cp.PublishAsync(Host, "Pod", id, 1, $$"""
                { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default", "restart": "always",
                  "volumes": [ { "name": "disk", "volume": "{{VolumeId}}" } ],
                  "containers": [ { "name": "app", "image": { "bali": "{{image}}", "sha256": "{{sha}}" },
                                    "volumeMounts": [ { "volume": "disk", "guestPath": "/srv", "readOnly": {{(readOnly ? "true" : "false")}} } ] } ] }
                """);
            var ready = await Cp.WaitForStatusAsync(Host, "pod", id, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(180));
            Assert.True(ready.Phase == ResourceStatus.Ready, ready.Message + "\n" + JournalText(SystemdVmSupervisor.UnitOf(id)));

            // The launch file names the zvol as the last disk, with the mount's mode; the guest's launch.json says which disk it is.
            var disks = JsonNode.Parse(File.ReadAllText(Path.Combine(RunDir, id, "launch.json")))!["disks"]!.AsArray();
            Assert.Equal((zvol, readOnly), ((string)disks[^1]!["path"]!, (bool)disks[^1]!["readOnly"]!));
            Assert.Equal(disks.Count, (int)ready.Observed["disks"]!);

            // The VMM under its unit holds the zvol's device open, read-only exactly when the pod mounts it so.
            int vmm = (int)ready.Observed["vm"]!["pid"]!;
            var fd = Directory.GetFiles($"/proc/{vmm}/fd").SingleOrDefault(f => new FileInfo(f).LinkTarget == device);
            Assert.True(fd is not null, $"the VMM (pid {vmm}) has no fd of {device}: " +
                string.Join(", ", Directory.GetFiles($"/proc/{vmm}/fd").Select(f => new FileInfo(f).LinkTarget)));
            int flags = Convert.ToInt32(File.ReadLines($"/proc/{vmm}/fdinfo/{Path.GetFileName(fd)}").First(l => l.StartsWith("flags:", StringComparison.Ordinal))[6..].Trim(), 8);
            Assert.Equal(readOnly ? 0 /* O_RDONLY */ : 2 /* O_RDWR */, flags & 3);
        }

        // The Volume's delete is refused while a pod uses it, and goes through once both pods are deleted.
        await Cp.PublishAsync(Host, "Volume", VolumeId, 2, deleted: true);
        var refused = await Cp.WaitForStatusAsync(Host, "volume", VolumeId, s => s.Generation == 2 && s.Phase is ResourceStatus.Failed or ResourceStatus.Deleted, TimeSpan.FromSeconds(120));
        Assert.Equal(ResourceStatus.Failed, refused.Phase);
        Assert.Contains("used by a pod", refused.Message);
        Assert.True(TestZpool.Exists($"{_pool.Name}/kraud/{VolumeId}"));
        foreach (var id in new[] { ReadOnlyPod, ReadWritePod })
        {
            await Cp.PublishAsync(Host, "Pod", id, 2, deleted: true);
            var deleted = await Cp.WaitForStatusAsync(Host, "pod", id, s => s.Generation == 2 && s.Phase is ResourceStatus.Deleted or ResourceStatus.Failed, TimeSpan.FromSeconds(120));
            Assert.True(deleted.Phase == ResourceStatus.Deleted, deleted.Message);
        }
        // The refused delete is retried (with backoff) and goes through now.
        await Cp.WaitForStatusAsync(Host, "volume", VolumeId, s => s.Phase is ResourceStatus.Deleted, TimeSpan.FromSeconds(240));
        Assert.False(TestZpool.Exists($"{_pool.Name}/kraud/{VolumeId}"));
    }
}
