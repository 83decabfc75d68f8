using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Composition;
using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Kinds.Volume;
using Kraud.Oci;
using Kraud.Vmm.Devices.Virtio.VhostUser;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// An nfs Volume in a pod, on real ZFS and the real virtiofsd in the kernel lane. The lane has no KVM, so the VM
/// is <see cref="FrontEndOnlyVms"/>: it does what kraud-vmm does first with a share, connecting as the vhost-user
/// front end to each socket the launch file names (with the VMM's own front end class); the guest's side is
/// covered on /dev/kvm by Kraud.Vmm.Tests' FsTests.
/// </summary>
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("shares", "kernel")]
public sealed class PodShareLaneTests(PodRegistry registry) : IClassFixture<PodRegistry>
{
    [Fact]
    public async Task A_pod_with_an_nfs_volume_gets_its_daemons_serving_the_mountpoint_and_the_volume_stays_while_the_pod_does()
    {
        await using var pool = await TestZpool.CreateAsync("kp");
        using var dir = new TempDir("kraud-pod-share");
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var exports = new NfsExports(dir.File("kraud.exports"), runner: TestZpool.Run);
        PodReconciler? pods = null;
        var volumes = new VolumeReconciler(zfs, exports, usedByPod: id => pods!.UsesVolume(id));
        await volumes.ReconcileAsync("data", 1, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 64L << 20 });
        string mountpoint = $"/{pool.Name}/kraud/data";
        File.WriteAllText(Path.Combine(mountpoint, "hello.txt"), "from the host");

        string guest = Path.Combine(dir.Path, "guest", "default");
        Directory.CreateDirectory(guest);
        File.WriteAllText(Path.Combine(guest, "kernel"), "not booted: the lane has no KVM");
        File.WriteAllText(Path.Combine(guest, "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel","initrd":null}}""");
        string runDir = Path.Combine(dir.Path, "vm");
        var log = new CapturingLogger();
        var vms = new FrontEndOnlyVms();
        await using var daemons = new ChildProcessShareDaemons(ChildProcessShareDaemons.DebianVirtiofsd, log);
        var storage = ZfsStorage.Create(TimeProvider.System);
        pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(dir.Path, "guest"), RunDir = runDir, ImagesDir = Path.Combine(dir.Path, "images"),
            Registries = [new RegistryOptions { Host = registry.Server.Host, PlainHttp = true }], CacheDiskBytes = 1 << 20,
        }, vms, new PodTap(), log) { ShareDaemons = daemons, FindFilesystem = storage.MountedFilesystemAsync };

        var spec = ResourceEnvelope.ReadSpec(JsonDocument.Parse($$"""
            { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default",
              "volumes": [ { "name": "data", "volume": "data" } ],
              "containers": [ { "name": "app", "image": { "ref": "{{registry.Server.Host}}/test/app:v1" },
                                "volumeMounts": [ { "volume": "data", "guestPath": "/data" },
                                                  { "volume": "data", "volumePath": "reports", "guestPath": "/reports", "readOnly": true } ] } ] }
            """).RootElement, PodJsonContext.Default.PodSpec);
        var observed = await pods.ApplyAsync("pod-fs", spec, CancellationToken.None);
        string podDir = Path.Combine(runDir, "pod-fs");

        // The launch file names one share per (directory, mode); the front end reached a virtio-fs back end on each.
        var launch = JsonNode.Parse(File.ReadAllText(Path.Combine(podDir, "launch.json")))!;
        var shares = launch["shares"]!.AsArray();
        Assert.Equal([("fs0", Path.Combine(podDir, "fs0.sock")), ("fs1", Path.Combine(podDir, "fs1.sock"))],
            shares.Select(s => ((string)s!["tag"]!, (string)s["socket"]!)).ToList());
        Assert.All(vms.Features, f => Assert.NotEqual(0UL, f & (1UL << 32))); // VIRTIO_F_VERSION_1 from virtiofsd
        Assert.Equal(2, vms.Features.Count);

        // Each daemon serves its directory: the dataset's mountpoint, and a read-only view of its subdirectory.
        var pids = observed["shares"]!.AsArray().ToDictionary(s => (string)s!["tag"]!, s => (int)s!["daemonPid"]!);
        Assert.Contains($"source={mountpoint}", Cmdline(pids["fs0"]));
        string roView = Path.Combine(podDir, "ro-fs1");
        Assert.Contains($"source={roView}", Cmdline(pids["fs1"]));
        Assert.True(Directory.Exists(Path.Combine(mountpoint, "reports")));
        var roMount = File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Single(f => f[4] == roView);
        Assert.Contains("ro", roMount[5].Split(','));
        var refusedWrite = Assert.Throws<IOException>(() => File.WriteAllText(Path.Combine(roView, "x"), "refused"));
        Assert.Contains("Read-only file system", refusedWrite.Message);

        // The Volume's delete is refused while the pod exists; after the pod's delete nothing of the shares is left.
        var refused = await Assert.ThrowsAsync<VolumeInUseException>(() => volumes.DeleteAsync("data", "h1", null));
        Assert.Contains("pod", refused.Message);
        await pods.DeleteAsync("pod-fs", CancellationToken.None);
        Assert.All(pids.Values, pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && Cmdline(pid).Contains("virtiofsd")));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), l => l.Contains(podDir));
        Assert.False(Directory.Exists(podDir));
        Assert.Equal("from the host", File.ReadAllText(Path.Combine(mountpoint, "hello.txt")));
        await volumes.DeleteAsync("data", "h1", null);
        Assert.False(TestZpool.Exists($"{pool.Name}/kraud/data"));
    }

    private static string Cmdline(int pid) => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');

    /// <summary>
    /// The VM as far as the lane can have one (no KVM there): for each share of the launch file, the vhost-user front
    /// end kraud-vmm uses connects, takes ownership and reads the back end's features, and holds the connection
    /// until the VM is stopped, as the VMM does.
    /// </summary>
    private sealed class FrontEndOnlyVms : IVmSupervisor
    {
        private readonly List<VhostUserFrontend> _connections = [];
        private VmState? _state;

        public List<ulong> Features { get; } = [];

        public event Action<VmState>? Changed { add { } remove { } }

        public Task<VmState> StartAsync(VmStartRequest request, CancellationToken ct)
        {
            var launch = JsonNode.Parse(File.ReadAllText(request.LaunchFile))!;
            foreach (var share in launch["shares"]?.AsArray() ?? [])
            {
                var frontend = VhostUserFrontend.Connect((string)share!["socket"]!, TimeSpan.FromSeconds(5));
                _connections.Add(frontend);
                Features.Add(frontend.BackendFeatures);
            }
            _state = new VmState(request.Id, null, Environment.ProcessId, true, DateTimeOffset.UtcNow, 0, null, request.LaunchHash);
            return Task.FromResult(_state);
        }

        public Task StopAsync(string id, CancellationToken ct)
        {
            foreach (var c in _connections) c.Dispose();
            _connections.Clear();
            _state = null;
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<VmState>> AdoptAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<VmState>>([]);

        public VmState? Get(string id) => _state;

        public IReadOnlyList<VmState> List() => _state is null ? [] : [_state];
    }
}
