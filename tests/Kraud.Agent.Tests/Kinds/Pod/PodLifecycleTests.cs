using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Pod;
using Kraud.Oci;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Vmm.Tests;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>One real docker-registry for the class, holding a one-layer image pushed by skopeo.</summary>
public sealed class PodRegistry : IAsyncLifetime
{
    private readonly TempDir _dir = new("kraud-pod-layout");
    public RegistryServer Server { get; private set; } = null!;
    public ContentDescriptor Layer { get; private set; } = null!;
    public ContentDescriptor TamperedLayer { get; private set; } = null!;
    /// <summary>The one layer of test/other:v1, an image sharing no blob with test/app:v1.</summary>
    public ContentDescriptor OtherLayer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RegistryServer.StartAsync();
        var layout = new OciLayout(_dir.Path);
        Layer = layout.AddLayer(("bin/app", "#!/bin/sh\necho pod\n"));
        layout.Tag("v1", layout.AddImage("linux", "amd64", [Layer], "/bin/app"));
        Skopeo.Push(layout, "v1", Server.Host, "test/app");
        OtherLayer = layout.AddLayer(("bin/other", "#!/bin/sh\necho other\n"));
        layout.Tag("other", layout.AddImage("linux", "amd64", [OtherLayer], "/bin/other"));
        Skopeo.Push(layout, "other", Server.Host, "test/other");
        TamperedLayer = layout.AddLayer(("bin/app", "this layer is tampered with in the registry\n"));
        layout.Tag("tampered", layout.AddImage("linux", "amd64", [TamperedLayer], "/bin/app"));
        Skopeo.Push(layout, "tampered", Server.Host, "test/tampered");
        // The registry now serves other bytes than the manifest's digest names.
        byte[] bytes = File.ReadAllBytes(Server.BlobDataPath(TamperedLayer.Digest));
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(Server.BlobDataPath(TamperedLayer.Digest), bytes);
    }

    public Task DisposeAsync()
    {
        Server?.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The Pod kind on real parts: the registry above, a network namespace for the tap, /dev/kvm with the published
/// kraud-vmm running the project's idle test guest as the kernel of a guest package the test writes.
/// </summary>
public sealed class PodLifecycleTests(PodRegistry registry) : IClassFixture<PodRegistry>, IAsyncLifetime
{
    private readonly TempDir _dir = new("kraud-pod");
    private readonly TestNetns _ns = new("kpod");
    private readonly CapturingLogger _log = new();
    private readonly BaliSigner _trusted = new(), _untrusted = new();
    private ChildProcessVmSupervisor _vms = null!;
    private PodReconciler _pods = null!;
    private string RunDir => Path.Combine(_dir.Path, "vm");

    public Task InitializeAsync()
    {
        string guest = Path.Combine(_dir.Path, "guest", "default");
        Directory.CreateDirectory(guest);
        File.Copy(TestGuests.Path("idle"), Path.Combine(guest, "kernel"));
        File.WriteAllText(Path.Combine(guest, "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel","initrd":null},"init":"cradle"}""");
        string podGuest = Path.Combine(_dir.Path, "guest", "pod");
        Directory.CreateDirectory(podGuest);
        File.Copy(TestGuests.Path("pod"), Path.Combine(podGuest, "vmlinux"));
        File.WriteAllText(Path.Combine(podGuest, "cradle.json"), """{"version":2,"kernel":{"kernel":"vmlinux"}}""");
        Directory.CreateDirectory(RunDir);
        _vms = new ChildProcessVmSupervisor(AgentBinary.VmmPath, RunDir, ["ip", "netns", "exec", _ns.Name], _log);
        _pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(_dir.Path, "guest"),
            RunDir = RunDir,
            ImagesDir = Path.Combine(_dir.Path, "images"),
            Registries = [new RegistryOptions { Host = registry.Server.Host, PlainHttp = true }],
            CacheDiskBytes = 16 << 20,
            ImageCacheGrace = TimeSpan.FromHours(1),
            TrustedImageKeys = [_trusted.Identity],
        }, _vms, new PodTap(_ns.Ns), _log);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _vms.DisposeAsync();
        _pods.Dispose();
        _ns.Dispose();
        _dir.Dispose();
    }

    private string SpecJson(long memoryMiB = 64, string restart = "always", string? image = null) => $$"""
        { "resources": { "vcpus": 1, "memoryMiB": {{memoryMiB}} }, "guest": "default",
          "containers": [ { "name": "app", "image": {{image ?? $"{{ \"ref\": \"{registry.Server.Host}/test/app:v1\" }}"}},
                            "process": { "cmd": ["/bin/app"] } } ],
          "network": { "ip6": "fd42:1a8::17", "ip4": "10.20.0.17" }, "restart": "{{restart}}" }
        """;

    private PodSpec Spec(long memoryMiB = 64, string restart = "always", string? image = null) =>
        ResourceEnvelope.ReadSpec(JsonDocument.Parse(SpecJson(memoryMiB, restart, image)).RootElement, PodJsonContext.Default.PodSpec);

    private static bool Alive(int pid) => File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ");

    [Fact]
    public async Task A_pod_from_a_registry_image_runs_with_its_tap_and_routes_and_its_delete_leaves_nothing()
    {
        const string id = "pod-1";
        var progress = new Recorded();
        var observed = await _pods.ApplyAsync(id, Spec(), CancellationToken.None, progress);

        // Progress for the status: the pull's bytes (all of them at its end), then the start.
        var pulls = progress.Values.Where(v => (string?)v["stage"] == "pulling").ToList();
        Assert.NotEmpty(pulls);
        Assert.Equal((long?)pulls[^1]["pull"]!["totalBytes"], (long?)pulls[^1]["pull"]!["doneBytes"]);
        Assert.Equal("starting", (string?)progress.Values[^1]["stage"]);

        Assert.Equal("Running", (string?)observed["vm"]!["state"]);
        int pid = (int)observed["vm"]!["pid"]!;
        Assert.True(Alive(pid));
        string serial = Path.Combine(RunDir, id, "serial.log");
        await Deadline.WaitUntilAsync(() => File.Exists(serial) && File.ReadAllText(serial).Contains("idle guest up"), TimeSpan.FromSeconds(10), "the guest's first line");

        // The image: pinned to what the tag resolved to, its layer a read-only disk of the blob itself.
        string digest = (string)observed["images"]![0]!["digest"]!;
        Assert.Equal(Skopeo.DigestOf(registry.Server.Host, "test/app", "v1").ToString(), digest);
        var launch = JsonNode.Parse(File.ReadAllText(Path.Combine(RunDir, id, "launch.json")))!;
        var disks = launch["disks"]!.AsArray();
        Assert.Equal(3, disks.Count); // config, cache, one layer
        Assert.Equal(registry.Layer.Digest.Hex, Path.GetFileName((string)disks[2]!["path"]!));
        Assert.True((bool)disks[2]!["readOnly"]!);
        var guestLaunch = ReadConfigDisk((string)disks[0]!["path"]!);
        Assert.Equal(id, (string?)guestLaunch["id"]);
        Assert.Equal(registry.Layer.Digest.ToString(), (string?)guestLaunch["containers"]![0]!["layers"]![0]!["digest"]);

        // The tap: marked, up, with the transit addresses and the pod's routes (protocol kraud).
        string tap = PodTap.NameOf(id);
        Assert.Equal(tap, (string?)observed["network"]!["tap"]);
        Assert.Equal(tap, (string)launch["nets"]![0]!["tap"]!);
        string link = _ns.Exec("ip", "-d", "link", "show", tap);
        Assert.Contains("alias kraud:pod:pod-1", link);
        Assert.Contains("fdee:face::1/128", _ns.Exec("ip", "-6", "addr", "show", "dev", tap));
        Assert.Contains("169.254.1.1/32", _ns.Exec("ip", "-4", "addr", "show", "dev", tap));
        Assert.Contains("fd42:1a8::17", _ns.Exec("ip", "-6", "route", "show", "proto", "75", "dev", tap));
        Assert.Contains("10.20.0.17", _ns.Exec("ip", "-4", "route", "show", "proto", "75", "dev", tap));

        // The same spec again touches nothing; more memory restarts the VM with it.
        var again = await _pods.ApplyAsync(id, Spec(), CancellationToken.None);
        Assert.Equal(pid, (int)again["vm"]!["pid"]!);
        var bigger = await _pods.ApplyAsync(id, Spec(memoryMiB: 96), CancellationToken.None);
        int pid2 = (int)bigger["vm"]!["pid"]!;
        Assert.NotEqual(pid, pid2);
        Assert.False(Alive(pid));
        Assert.Equal(96, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(RunDir, id, "launch.json")))!["memoryMiB"]!);

        // Delete: no VM, no tap (its routes go with it), no files, no image references.
        var deleted = await _pods.DeleteAsync(id, CancellationToken.None);
        Assert.True((bool)deleted["deleted"]!);
        Assert.False(Alive(pid2));
        Assert.Null(_vms.Get(id));
        Assert.Null(_ns.Rtnl.LinkFind(tap));
        Assert.DoesNotContain("10.20.0.17", _ns.Exec("ip", "-4", "route", "show"));
        Assert.False(Directory.Exists(Path.Combine(RunDir, id)));
        using (var store = ReopenStore()) Assert.Empty(store.ReferencesOf(id));
    }

    [Fact]
    public async Task A_tap_name_taken_by_a_foreign_link_fails_permanently_and_is_left_as_it_is()
    {
        const string id = "pod-2";
        string tap = PodTap.NameOf(id);
        _ns.Exec("ip", "tuntap", "add", "dev", tap, "mode", "tap");
        var before = _ns.Rtnl.LinkGet(tap);

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => _pods.ApplyAsync(id, Spec(), CancellationToken.None));
        Assert.Contains($"link {tap} exists and is not kraud's", e.Message);
        await Assert.ThrowsAsync<ForeignObjectException>(() => _pods.DeleteAsync(id, CancellationToken.None));

        var after = _ns.Rtnl.LinkGet(tap);
        Assert.Equal(before.Index, after.Index);
        Assert.Null(after.Alias);
        Assert.DoesNotContain(_ns.Rtnl.AddrList(after.Index), a => a.Scope == 0);
        Assert.Null(_vms.Get(id));
        Assert.False(Directory.Exists(Path.Combine(RunDir, id)));
    }

    [Fact]
    public async Task A_launch_the_vmm_refuses_fails_permanently_with_its_exit_code()
    {
        // A "kernel" that is no kernel: the VMM refuses it with 65 before the guest could run.
        File.WriteAllText(Path.Combine(_dir.Path, "guest", "default", "kernel"), "not a kernel");
        var e = await Assert.ThrowsAsync<PermanentReconcileException>(() => _pods.ApplyAsync("pod-3", Spec(), CancellationToken.None));
        Assert.Contains("exit 65", e.Message);
        // Permanent: nothing of the pod stays (no VM, tap, files or image references) without waiting for its delete.
        Assert.Null(_vms.Get("pod-3"));
        Assert.Null(_ns.Rtnl.LinkFind(PodTap.NameOf("pod-3")));
        Assert.False(Directory.Exists(Path.Combine(RunDir, "pod-3")));
        using var store = ReopenStore();
        Assert.Empty(store.ReferencesOf("pod-3"));
    }

    /// <summary>Waits for the idle guest's line in the pod's serial log, so a kill after it finds it in the exit's tail.</summary>
    private Task GuestPrintedAsync(string id) => Deadline.WaitUntilAsync(
        () => ChildProcessVmSupervisor.SerialTail(Path.Combine(RunDir, id, "serial.log")).Any(l => l.Contains("idle guest up", StringComparison.Ordinal)),
        TimeSpan.FromSeconds(20), $"the guest of {id} printed its first line");

    [Fact]
    public async Task A_vmm_killed_is_restarted_by_the_policy_and_reported()
    {
        const string id = "pod-4";
        var status = new RecordingAmender();
        _pods.ReportVmChangesTo(status);
        var envelope = new ResourceEnvelope(ResourceEnvelope.V1, "Pod", id, 7, false, JsonDocument.Parse(SpecJson()).RootElement);
        var first = await _pods.ReconcileAsync(envelope, new ReconcileContext("h1", _dir.Path, 1, _log), CancellationToken.None);
        int pid = (int)first!["vm"]!["pid"]!;
        await GuestPrintedAsync(id); // Ready means the first vCPU entry, which can come before the guest's first line
        Kraud.Libc.Native.kill(pid, 9);
        await Deadline.WaitUntilAsync(() => _vms.Get(id) is { Running: true, Restarts: 1 }, TimeSpan.FromSeconds(20), "the VM restarted");

        // Both changes reached the stored status, at the pod's generation: the exit, then the guest running again.
        await Deadline.WaitUntilAsync(() => status.Amends.Any(a => (string?)a["state"] == "Running" && (int?)a["restarts"] == 1),
            TimeSpan.FromSeconds(5), "the restart in the status");
        var exited = Assert.Single(status.Amends, a => (string?)a["state"] == "Exited");
        Assert.Equal(137, (int)exited["lastExit"]!["code"]!);
        // Down: Failed naming the exit; back: Ready.
        Assert.Equal(["Failed", "Ready"], status.Phases.Select(p => p.Phase).Distinct());
        Assert.StartsWith($"the VM of pod {id} is down: its VMM exited with code 137 after 0 restart(s); serial: ", status.Phases.First(p => p.Phase == "Failed").Message);
        Assert.Equal(("Ready", ""), status.Phases[^1]);
        Assert.Contains("idle guest up", exited["lastExit"]!["serial"]!.AsArray().Select(l => (string?)l));
        Assert.All(status.Generations, g => Assert.Equal(7, g));
        var state = _vms.Get(id)!;
        Assert.NotEqual(pid, state.Pid);
        Assert.Equal(137, state.LastExit!.Code);
        Assert.Contains("idle guest up", state.LastExit.SerialTail);

        // The next reconcile of the same spec leaves the restarted VM alone and reports the restart.
        var again = await _pods.ApplyAsync(id, Spec(), CancellationToken.None);
        Assert.Equal(state.Pid, (int)again["vm"]!["pid"]!);
        Assert.Equal(1, (int)again["vm"]!["restarts"]!);
        Assert.Equal(137, (int)again["vm"]!["lastExit"]!["code"]!);
        await _pods.DeleteAsync(id, CancellationToken.None);
    }

    [Fact]
    public async Task A_vm_that_stays_down_is_failed_with_its_exit_until_a_reconcile_starts_it_again()
    {
        const string id = "pod-4b";
        var status = new RecordingAmender();
        _pods.ReportVmChangesTo(status);
        var envelope = new ResourceEnvelope(ResourceEnvelope.V1, "Pod", id, 3, false, JsonDocument.Parse(SpecJson(restart: "never")).RootElement);
        var first = await _pods.ReconcileAsync(envelope, new ReconcileContext("h1", _dir.Path, 1, _log), CancellationToken.None);
        int pid = (int)first!["vm"]!["pid"]!;
        await GuestPrintedAsync(id); // Ready means the first vCPU entry, which can come before the guest's first line
        Kraud.Libc.Native.kill(pid, 9);
        await Deadline.WaitUntilAsync(() => status.Phases.Any(p => p.Phase == "Failed"), TimeSpan.FromSeconds(20), "the pod Failed");
        var (phase, message) = status.Phases[^1];
        Assert.Equal("Failed", phase);
        Assert.StartsWith($"the VM of pod {id} is down: its VMM exited with code 137 after 0 restart(s); serial: ", message);
        Assert.Contains("idle guest up", message);
        Assert.Equal("Exited", (string?)status.Amends[^1]["state"]);
        Assert.Equal(3, status.Generations[^1]);
        Assert.False(_vms.Get(id)!.Running); // restart: never, so it stays down

        // The next reconcile (a resync or a retry) starts it again.
        var again = await _pods.ReconcileAsync(envelope, new ReconcileContext("h1", _dir.Path, 2, _log), CancellationToken.None);
        Assert.Equal("Running", (string?)again!["vm"]!["state"]);
        Assert.NotEqual(pid, (int)again["vm"]!["pid"]!);
        await _pods.DeleteAsync(id, CancellationToken.None);
    }

    [Fact]
    public async Task A_vmm_left_by_a_dead_agent_is_adopted_not_duplicated_and_its_restart_policy_goes_on()
    {
        const string id = "pod-5";
        var first = await _pods.ApplyAsync(id, Spec(), CancellationToken.None);
        int pid = (int)first["vm"]!["pid"]!;
        // Its own session: a Ctrl-C or hang-up to the agent's process group does not reach the VM.
        Assert.Equal(pid, int.Parse(File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[3]));

        // A new agent: new reconciler and supervisor; the old supervisor is abandoned as a kill -9 would leave it.
        _pods.Dispose();
        _vms.Abandon();
        var vms = new ChildProcessVmSupervisor(AgentBinary.VmmPath, RunDir, ["ip", "netns", "exec", _ns.Name], _log);
        using var pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(_dir.Path, "guest"), RunDir = RunDir, ImagesDir = Path.Combine(_dir.Path, "images"),
            Registries = [new RegistryOptions { Host = registry.Server.Host, PlainHttp = true }], CacheDiskBytes = 16 << 20,
        }, vms, new PodTap(_ns.Ns), _log);
        var second = await pods.ApplyAsync(id, Spec(), CancellationToken.None);
        Assert.Equal(pid, (int)second["vm"]!["pid"]!);
        Assert.Equal("Running", (string?)second["vm"]!["state"]);
        Assert.True(Alive(pid));
        Assert.Equal(1, VmmsOf(id));

        // kill -9 of the adopted VMM: the new supervisor restarts it (restart always), still one VMM.
        Kraud.Libc.Native.kill(pid, 9);
        await Deadline.WaitUntilAsync(() => vms.Get(id) is { Running: true, Restarts: 1 }, TimeSpan.FromSeconds(20), "the adopted VM restarted");
        var state = vms.Get(id)!;
        Assert.NotEqual(pid, state.Pid);
        Assert.Equal(-1, state.LastExit!.Code); // no child of this agent: its exit code is not known here
        Assert.Equal(1, VmmsOf(id));
        await pods.DeleteAsync(id, CancellationToken.None);
        Assert.False(Alive(state.Pid!.Value));
        Assert.Equal(0, VmmsOf(id));
        await vms.DisposeAsync();
    }

    private int VmmsOf(string id)
    {
        string launch = Path.Combine(RunDir, id, "launch.json");
        return Directory.EnumerateDirectories("/proc").Select(Path.GetFileName)
            .Where(p => int.TryParse(p, out _) && Alive(int.Parse(p!)))
            .Count(p => { try { return File.ReadAllText($"/proc/{p}/cmdline").Split('\0').Contains(launch); } catch (IOException) { return false; } });
    }

    [Fact]
    public async Task A_bali_image_signed_by_a_trusted_key_runs_from_its_verified_file()
    {
        const string id = "pod-6";
        string file = Path.Combine(_dir.Path, "app.tar.gz");
        var sha = _trusted.WriteImage(file, BaliSigner.Tar(("bin/app", "bali app\n")));
        var observed = await _pods.ApplyAsync(id, Spec(image: $$"""{ "bali": "file://{{file}}", "sha256": "{{sha.Hex}}" }"""), CancellationToken.None);
        Assert.Equal("Running", (string?)observed["vm"]!["state"]);
        Assert.Equal(sha.ToString(), (string?)observed["images"]![0]!["digest"]);
        var disks = JsonNode.Parse(File.ReadAllText(Path.Combine(RunDir, id, "launch.json")))!["disks"]!.AsArray();
        Assert.Equal(sha.Hex, Path.GetFileName((string)disks[2]!["path"]!));
        await _pods.DeleteAsync(id, CancellationToken.None);
    }

    [Theory]
    [InlineData("untrusted")]
    [InlineData("unsigned")]
    [InlineData("not-found")]
    [InlineData("tampered")]
    public async Task A_bad_image_fails_permanently_naming_it_and_leaves_nothing(string what)
    {
        string id = "pod-bad-" + what;
        string file = Path.Combine(_dir.Path, what + ".tar.gz");
        string image = what switch
        {
            "untrusted" => $$"""{ "bali": "file://{{file}}", "sha256": "{{_untrusted.WriteImage(file, BaliSigner.Tar(("a", "b"))).Hex}}" }""",
            "unsigned" => WriteUnsigned(file),
            "not-found" => $$"""{ "ref": "{{registry.Server.Host}}/test/nothing:v1" }""",
            _ => $$"""{ "ref": "{{registry.Server.Host}}/test/tampered:tampered" }""",
        };
        var e = await Assert.ThrowsAnyAsync<PermanentReconcileException>(() => _pods.ApplyAsync(id, Spec(image: image), CancellationToken.None));
        Assert.StartsWith("spec.containers[0].image:", e.Message);
        if (what == "tampered") Assert.Contains(registry.TamperedLayer.Digest.ToString(), e.Message);
        Assert.Null(_vms.Get(id));
        Assert.Null(_ns.Rtnl.LinkFind(PodTap.NameOf(id)));
        Assert.False(Directory.Exists(Path.Combine(RunDir, id)));
        using var store = ReopenStore();
        Assert.Empty(store.ReferencesOf(id));

        static string WriteUnsigned(string path)
        {
            byte[] gz = BaliSigner.Gzip(BaliSigner.Tar(("a", "b")));
            File.WriteAllBytes(path, gz);
            return $$"""{ "bali": "file://{{path}}", "sha256": "{{Digest.Of(gz).Hex}}" }""";
        }
    }

    [Fact]
    public async Task The_guest_reads_its_pod_id_and_layer_from_its_disks_and_its_frame_reaches_the_tap()
    {
        const string id = "pod-7";
        var node = JsonNode.Parse(SpecJson())!;
        node["guest"] = "pod";
        var observed = await _pods.ApplyAsync(id, ResourceEnvelope.ReadSpec(JsonDocument.Parse(node.ToJsonString()).RootElement, PodJsonContext.Default.PodSpec),
            CancellationToken.None);
        Assert.Equal("Running", (string?)observed["vm"]!["state"]);

        string serial = Path.Combine(RunDir, id, "serial.log");
        await Deadline.WaitUntilAsync(() => File.Exists(serial) && File.ReadAllText(serial).Contains("pod: sending frames"), TimeSpan.FromSeconds(10),
            "the guest to read its disks");
        string text = File.ReadAllText(serial);
        Assert.Contains("pod: config file launch.json", text);
        Assert.Contains($"pod: id={id}\n", text);
        Assert.Contains($"pod: layer digest={registry.Layer.Digest}\n", text);
        Assert.Contains("pod: layer magic=1f8b\n", text);

        // The guest's frame arrives on the pod's tap, from the pod's MAC.
        string tap = PodTap.NameOf(id);
        int index = _ns.Rtnl.LinkGet(tap).Index;
        using var packets = _ns.Ns.Run(() => new PacketSocket(index, 0x88b5));
        byte[]? frame = null;
        try { await Deadline.WaitUntilAsync(() => (frame = packets.Receive(100)) is not null, TimeSpan.FromSeconds(10), "a frame from the guest"); }
        catch (TimeoutException e) { throw new TimeoutException(e.Message + "; serial:\n" + File.ReadAllText(serial) + "\n" + _ns.Exec("ip", "-s", "-d", "link", "show", tap), e); }
        Assert.Equal(PodTap.MacOf(id), string.Join(':', frame![6..12].Select(b => b.ToString("x2"))));
        Assert.Equal("kraud pod frame", System.Text.Encoding.ASCII.GetString(frame, 14, 15));
        await _pods.DeleteAsync(id, CancellationToken.None);
    }

    [Fact]
    public async Task A_pod_beyond_the_allocatable_memory_fails_transiently_naming_the_shortfall()
    {
        var vms = new ChildProcessVmSupervisor(AgentBinary.VmmPath, RunDir, ["ip", "netns", "exec", _ns.Name], _log);
        using var pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(_dir.Path, "guest"), RunDir = RunDir, ImagesDir = Path.Combine(_dir.Path, "images-small"),
            Registries = [new RegistryOptions { Host = registry.Server.Host, PlainHttp = true }], CacheDiskBytes = 16 << 20,
            AllocatableMemoryMiB = 100, AllocatableVcpus = 4,
        }, vms, new PodTap(_ns.Ns), _log);
        await pods.ApplyAsync("pod-8", Spec(), CancellationToken.None);
        var report = new HostReportBuilder();
        await pods.ContributeAsync(report, CancellationToken.None);
        Assert.Equal((1, 3, 36L << 20), (report.Pods!.Running, report.Pods.AllocatableVcpus, report.Pods.AllocatableMemoryBytes));

        var e = await Assert.ThrowsAsync<TransientReconcileException>(() => pods.ApplyAsync("pod-9", Spec(), CancellationToken.None));
        Assert.StartsWith("spec.resources.memoryMiB: 64 MiB asked, 36 MiB allocatable", e.Message);
        Assert.Contains("short by 28 MiB", e.Message);
        Assert.Null(vms.Get("pod-9"));
        Assert.False(Directory.Exists(Path.Combine(RunDir, "pod-9")));

        await pods.DeleteAsync("pod-8", CancellationToken.None);
        await pods.ApplyAsync("pod-9", Spec(), CancellationToken.None); // what pod-8 held is free again
        await pods.DeleteAsync("pod-9", CancellationToken.None);
        await vms.DisposeAsync();
    }

    [Fact]
    public async Task A_registry_that_goes_down_mid_pull_fails_the_pod_transiently_and_the_retry_resumes_the_blob()
    {
        using var server = await RegistryServer.StartAsync();
        var layout = new OciLayout(Path.Combine(_dir.Path, "big-layout"));
        var big = layout.AddRandomLayer(7, 192L << 20);
        layout.Tag("v1", layout.AddImage("linux", "amd64", [big], "/bin/app"));
        Skopeo.Push(layout, "v1", server.Host, "test/big");
        string images = Path.Combine(_dir.Path, "images-big");
        await using var vms = new ChildProcessVmSupervisor(AgentBinary.VmmPath, RunDir, ["ip", "netns", "exec", _ns.Name], _log);
        using var pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(_dir.Path, "guest"), RunDir = RunDir, ImagesDir = images,
            Registries = [new RegistryOptions { Host = server.Host, PlainHttp = true }], CacheDiskBytes = 16 << 20,
        }, vms, new PodTap(_ns.Ns), _log);
        var spec = Spec(image: $$"""{ "ref": "{{server.Host}}/test/big:v1" }""");

        // The registry is killed once 8 MiB arrived (the small config blob comes first; these are the layer's).
        int killed = 0;
        var first = new Recorded(o =>
        {
            if (o["pull"]?["doneBytes"] is { } d && (long)d >= 8 << 20 && Interlocked.Exchange(ref killed, 1) == 0) server.Kill();
        });
        var e = await Assert.ThrowsAsync<TransientReconcileException>(() => pods.ApplyAsync("pod-pull", spec, CancellationToken.None, first));
        Assert.StartsWith("spec.containers[0].image:", e.Message);
        Assert.Null(vms.Get("pod-pull"));
        // The layer's bytes so far are kept (.<hex>.partial beside the blobs) for the retry.
        var partials = Directory.GetFiles(Path.Combine(images, "blobs", "sha256"), ".*.partial");
        string partial = Assert.Single(partials, p => new FileInfo(p).Length > 0);
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, big.Size - 1);

        // Up again: the retry resumes at the bytes kept and the pod runs.
        await server.StartAgainAsync();
        var second = new Recorded();
        var observed = await pods.ApplyAsync("pod-pull", spec, CancellationToken.None, second);
        Assert.Equal("Running", (string?)observed["vm"]!["state"]);
        var done = second.Values.Select(v => (long?)v["pull"]?["doneBytes"]).Where(d => d > 0).ToList();
        // Resumed: the layer's progress starts at the bytes kept; a download from byte 0 would pass through 1 MiB .. kept.
        Assert.True(done.Count > 0, "no progress in the retry");
        Assert.DoesNotContain(done, d => d > (1 << 20) && d < kept);
        Assert.Contains(done, d => d > kept);
        Assert.False(File.Exists(partial));
        await pods.DeleteAsync("pod-pull", CancellationToken.None);
    }

    private sealed class RecordingAmender : IStatusAmender
    {
        private readonly List<(long Generation, JsonObject Vm, string Phase, string Message)> _amends = [];
        private JsonObject _observed = new();
        private string _phase = "Ready", _message = "";
        public List<JsonObject> Amends { get { lock (_amends) return _amends.Select(a => a.Vm).ToList(); } }
        public List<long> Generations { get { lock (_amends) return _amends.Select(a => a.Generation).ToList(); } }
        public List<(string Phase, string Message)> Phases { get { lock (_amends) return _amends.Select(a => (a.Phase, a.Message)).ToList(); } }

        public Task<AmendOutcome> AmendObservedAsync(string kind, string id, long generation, Func<JsonObject, bool> change, CancellationToken ct) =>
            AmendPhaseAsync(kind, id, generation, _phase, _message, change, ct);

        public Task<AmendOutcome> AmendPhaseAsync(string kind, string id, long generation, string phase, string message, Func<JsonObject, bool> change, CancellationToken ct)
        {
            lock (_amends)
            {
                var copy = (JsonObject)_observed.DeepClone();
                if (!change(copy) && phase == _phase && message == _message) return Task.FromResult(AmendOutcome.Unchanged);
                _observed = copy;
                (_phase, _message) = (phase, message);
                _amends.Add((generation, (JsonObject)copy["vm"]!.DeepClone(), phase, message));
                return Task.FromResult(AmendOutcome.Amended);
            }
        }
    }

    private sealed class Recorded(Action<JsonObject>? seen = null) : IProgress<JsonObject>
    {
        private readonly List<JsonObject> _values = [];
        public List<JsonObject> Values { get { lock (_values) return [.. _values]; } }
        public void Report(JsonObject value)
        {
            lock (_values) _values.Add(value);
            seen?.Invoke(value);
        }
    }

    private BlobStore ReopenStore()
    {
        _pods.Dispose(); // the store is one process's at a time (flock)
        return new BlobStore(Path.Combine(_dir.Path, "images"));
    }

    private static JsonNode ReadConfigDisk(string path)
    {
        using var f = File.OpenRead(path);
        using var tar = new TarReader(f);
        var entry = tar.GetNextEntry()!;
        Assert.Equal("launch.json", entry.Name);
        return JsonNode.Parse(entry.DataStream!)!;
    }
}
