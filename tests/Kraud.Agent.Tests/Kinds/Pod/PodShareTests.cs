using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Pod;
using Kraud.Oci;
using Kraud.Vmm.Tests;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// Two pods mount one nfs volume at once, on /dev/kvm with the published kraud-vmm and the real virtiofsd: each
/// pod's guest (the fs test guest as its guest package's kernel) reads what the host wrote, writes its own file and
/// sees the other pod's. This host has no ZFS, so the volume's mountpoint is a directory the test names through
/// the reconciler's FindFilesystem seam; the kernel lane's PodShareLaneTests find it on a real dataset.
/// </summary>
public sealed class PodShareTests(PodRegistry registry) : IClassFixture<PodRegistry>
{
    [Fact]
    public async Task Two_pods_on_one_nfs_volume_read_the_hosts_file_and_see_each_others_and_their_daemons_go_with_them()
    {
        using var dir = new TempDir("kraud-pod-fs");
        string volume = Path.Combine(dir.Path, "volume-data");
        Directory.CreateDirectory(Path.Combine(volume, "app"));
        File.WriteAllText(Path.Combine(volume, "app", "hello.txt"), "from the host");
        foreach (var (name, write, wait) in new[] { ("fs-a", "a.txt", "b.txt"), ("fs-b", "b.txt", "a.txt") })
        {
            string guest = Path.Combine(dir.Path, "guest", name);
            Directory.CreateDirectory(guest);
            File.Copy(TestGuests.Path("fs"), Path.Combine(guest, "kernel"));
            File.WriteAllText(Path.Combine(guest, "cradle.json"),
                $$$"""{"version":2,"kernel":{"kernel":"kernel","cmdline":"console=ttyS0 fs.tag=fs0 fs.write={{{write}}} fs.wait={{{wait}}} fs.hold"}}""");
        }
        string runDir = Path.Combine(dir.Path, "vm");
        Directory.CreateDirectory(runDir);
        var log = new CapturingLogger();
        await using var vms = new ChildProcessVmSupervisor(AgentBinary.VmmPath, runDir, logger: log);
        await using var daemons = new ChildProcessShareDaemons(ChildProcessShareDaemons.DebianVirtiofsd, log);
        using var pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(dir.Path, "guest"), RunDir = runDir, ImagesDir = Path.Combine(dir.Path, "images"),
            Registries = [new RegistryOptions { Host = registry.Server.Host, PlainHttp = true }], CacheDiskBytes = 1 << 20,
        }, vms, new PodTap(), log)
        {
            ShareDaemons = daemons,
            FindFilesystem = (id, _) => Task.FromResult(id == "data" ? volume : null),
        };

        var pids = new List<int>();
        foreach (var (pod, guest) in new[] { ("pod-a", "fs-a"), ("pod-b", "fs-b") })
        {
            var spec = ResourceEnvelope.ReadSpec(JsonDocument.Parse($$"""
                { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "{{guest}}",
                  "volumes": [ { "name": "shared", "volume": "data" } ],
                  "containers": [ { "name": "app", "image": { "ref": "{{registry.Server.Host}}/test/app:v1" },
                                    "volumeMounts": [ { "volume": "shared", "volumePath": "app", "guestPath": "/srv" } ] } ] }
                """).RootElement, PodJsonContext.Default.PodSpec);
            var observed = await pods.ApplyAsync(pod, spec, CancellationToken.None);
            var share = Assert.Single(observed["shares"]!.AsArray())!;
            Assert.Equal(("fs0", "data", "app", false), ((string)share["tag"]!, (string)share["volume"]!, (string)share["volumePath"]!, (bool)share["readOnly"]!));
            pids.Add((int)share["daemonPid"]!);
            Assert.Contains($"source={Path.Combine(volume, "app")}", File.ReadAllText($"/proc/{pids[^1]}/cmdline").Replace('\0', ' '));
            var launch = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, pod, "launch.json")))!;
            Assert.Equal(Path.Combine(runDir, pod, "fs0.sock"), (string)launch["shares"]![0]!["socket"]!);
        }
        Assert.True(pods.UsesVolume("data"));

        foreach (var pod in new[] { "pod-a", "pod-b" })
        {
            string serial = Path.Combine(runDir, pod, "serial.log");
            await Deadline.WaitUntilAsync(() => File.Exists(serial) && File.ReadAllText(serial).Contains("FS-SAW:"), TimeSpan.FromSeconds(60), $"{pod}'s guest to see the other's file");
            string text = File.ReadAllText(serial);
            Assert.Contains("FS-READ:from the host\n", text);
            Assert.Contains("FS-SAW:FS-WRITE-OK\n", text);
            Assert.True(vms.Get(pod) is { Running: true }); // the guest holds: its VM runs until the pod goes
        }
        Assert.Equal("FS-WRITE-OK", File.ReadAllText(Path.Combine(volume, "app", "a.txt")));
        Assert.Equal("FS-WRITE-OK", File.ReadAllText(Path.Combine(volume, "app", "b.txt")));

        foreach (var pod in new[] { "pod-a", "pod-b" }) await pods.DeleteAsync(pod, CancellationToken.None);
        Assert.False(pods.UsesVolume("data"));
        Assert.Empty(daemons.Running("pod-a"));
        Assert.Empty(daemons.Running("pod-b"));
        Assert.All(pids, pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("virtiofsd")));
        Assert.True(File.Exists(Path.Combine(volume, "app", "hello.txt"))); // the volume's files are the volume's
    }
}
