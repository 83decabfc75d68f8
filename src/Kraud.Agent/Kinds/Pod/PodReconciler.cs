using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Host;
using Kraud.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>Where the Pod kind keeps things and what it may use; the defaults are a real host's.</summary>
public sealed record PodOptions
{
    /// <summary>Installed guest packages: &lt;GuestDir&gt;/&lt;name&gt;/cradle.json.</summary>
    public string GuestDir { get; init; } = "/usr/lib/kraud/guest";
    /// <summary>One directory per VM: launch.json, config.tar, cache.img, serial.log.</summary>
    public string RunDir { get; init; } = "/run/kraud/vm";
    /// <summary>The blob store (&lt;stateDir&gt;/images).</summary>
    public required string ImagesDir { get; init; }
    public IReadOnlyList<RegistryOptions> Registries { get; init; } = [];
    public IReadOnlyList<BaliIdentity> TrustedImageKeys { get; init; } = [];
    public long ImageCacheMaxBytes { get; init; } = 50L << 30;
    public TimeSpan ImageCacheGrace { get; init; } = TimeSpan.FromHours(1);
    /// <summary>The image cache's clock: when a blob was last used, and when its collection runs.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    /// <summary>The sparse cache disk the guest formats.</summary>
    public long CacheDiskBytes { get; init; } = 1L << 30;
    /// <summary>Where lv2 volumes' zvols appear: &lt;ZvolDir&gt;/&lt;pool&gt;/kraud/&lt;volume&gt;.</summary>
    public string ZvolDir { get; init; } = "/dev/zvol";
    /// <summary>How long a VM may take from start to READY=1.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>What pods may hold in total (null: the host's memory and CPUs).</summary>
    public long? AllocatableMemoryMiB { get; init; }
    public int? AllocatableVcpus { get; init; }
}

/// <summary>
/// The Pod kind (docs/contract.md, Pod): pulls the containers' images into the shared blob store (owner = pod id),
/// writes the VM's disks and launch file under &lt;RunDir&gt;/&lt;id&gt;/, makes the pod's tap and routes, and has the
/// <see cref="IVmSupervisor"/> run the VM until the VMM reports the guest running. An update restarts the VM only when
/// its launch (launch file and config disk) changed; a delete stops it and removes everything of the pod.
/// </summary>
public sealed partial class PodReconciler(PodOptions options, IVmSupervisor vms, PodTap tap, ILogger? logger = null) : IReconciler, IHostReport, IDisposable
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly PodImages _images = new(options, logger ?? NullLogger.Instance);
    /// <summary>What each pod with a VM holds: for the allocatable check and the host record.</summary>
    private readonly ConcurrentDictionary<string, (int Vcpus, long MemoryMiB)> _held = new(StringComparer.Ordinal);

    public string Kind => ResourceKinds.Pod;

    /// <summary>Runs the virtiofsd of each share (nfs volumes); null: a pod with an nfs volume is refused.</summary>
    public IShareDaemons? ShareDaemons { get; init; }

    /// <summary>Why this agent serves no shares, for the refusal of a pod with an nfs volume.</summary>
    public string? NoSharesReason { get; init; }

    /// <summary>An nfs volume's mountpoint by its id, null when this host has no such mounted filesystem (set by the daemon's composition).</summary>
    public Func<string, CancellationToken, Task<string?>>? FindFilesystem { get; set; }

    /// <summary>The generation each pod's VM was last started or checked for: a VM change is put into that status.</summary>
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);
    private IStatusAmender? _amender;

    /// <summary>
    /// Puts a VM's exit and restart into its pod's stored status (observed.vm, same generation and phase) as they
    /// happen, between reconciles. The daemon sets it once the engine exists.
    /// </summary>
    public void ReportVmChangesTo(IStatusAmender amender)
    {
        _amender = amender;
        vms.Changed += state => _ = AmendAsync(state);
    }

    private async Task AmendAsync(VmState state)
    {
        if (_amender is null || !_generations.TryGetValue(state.Id, out long generation)) return;
        var vm = VmNode(state);
        try
        {
            // A VM that is down is no Ready pod: Failed with why (PodVmDown), Ready again when it runs.
            var (phase, message) = PodVmDown.PhaseOf(state);
            var outcome = await _amender.AmendPhaseAsync(ResourceKinds.Pod, state.Id, generation, phase, message, observed =>
            {
                if (JsonNode.DeepEquals(observed["vm"], vm)) return false;
                observed["vm"] = vm.DeepClone();
                return true;
            }, CancellationToken.None).ConfigureAwait(false);
            _log.LogInformation("VM of pod {Id} {State} (restarts {Restarts}, last exit {Code}): status {Outcome}", state.Id,
                state.Running ? "running" : "exited", state.Restarts, state.LastExit?.Code, outcome);
        }
        catch (Exception e)
        {
            _log.LogWarning("status of pod {Id} after a VM change not written: {Error}", state.Id, e.Message);
        }
    }

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        PodSpecValidator.ValidateId(envelope.Id);
        // The engine's scope already carries Kind and Id.
        if (envelope.Deleted) return await DeleteAsync(envelope.Id, ct).ConfigureAwait(false);
        var spec = envelope.ReadSpec(PodJsonContext.Default.PodSpec);
        var observed = await ApplyAsync(envelope.Id, spec, ct, context.Progress).ConfigureAwait(false);
        _generations[envelope.Id] = envelope.Generation;
        return observed;
    }

    /// <summary>Pods holding a VM and what they hold (the host record's running pods and allocatable resources).</summary>
    public IReadOnlyDictionary<string, (int Vcpus, long MemoryMiB)> Held => _held;

    public (int Vcpus, long MemoryMiB) Allocatable =>
        (options.AllocatableVcpus ?? Environment.ProcessorCount, options.AllocatableMemoryMiB ?? HostMemory.TotalBytes() >> 20);

    /// <summary>The host record's `pods`: VMs running now, and memory and vCPUs left after what every pod with a VM holds.</summary>
    public async Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        try { await AdoptLeftOverVmsAsync(ct).ConfigureAwait(false); }
        catch (TransientReconcileException e) { _log.LogWarning("the host record's pods without the VMs of an earlier agent: {Error}", e.Message); }
        var running = vms.List().Where(v => v.Running).Select(v => v.Id).Order(StringComparer.Ordinal).ToList();
        var (cpus, mem) = Allocatable;
        var held = _held.Values.ToList();
        report.Pods = new PodsResource(running.Count, running, cpus - held.Sum(h => h.Vcpus), (mem - held.Sum(h => h.MemoryMiB)) << 20);
    }

    /// <summary>
    /// Whether a pod of this host has volume <paramref name="volumeId"/> among its VM's disks (read from the launch files,
    /// so it holds across agent restarts): the Volume kind refuses such a volume's delete.
    /// </summary>
    public bool UsesVolume(string volumeId)
    {
        if (!Directory.Exists(options.RunDir)) return false;
        string suffix = "/kraud/" + volumeId;
        foreach (var dir in Directory.EnumerateDirectories(options.RunDir))
        {
            if (PodShares.Load(dir).Any(s => s.Volume == volumeId)) return true;
            string file = Path.Combine(dir, "launch.json");
            try
            {
                if (!File.Exists(file)) continue;
                var launch = JsonSerializer.Deserialize(File.ReadAllBytes(file), PodFilesJsonContext.Default.VmLaunchFile);
                if (launch?.Disks.Any(d => d.Path.EndsWith(suffix, StringComparison.Ordinal)) == true) return true;
            }
            catch (Exception e) when (e is IOException or JsonException) { _log.LogWarning("reading {File}: {Error}", file, e.Message); }
        }
        return false;
    }

    public async Task<JsonObject> ApplyAsync(string id, PodSpec spec, CancellationToken ct, IProgress<JsonObject>? progress = null)
    {
        PodSpecValidator.ValidateId(id);
        PodSpecValidator.Validate(spec);
        await AdoptLeftOverVmsAsync(ct).ConfigureAwait(false);
        var guest = GuestPackage.Load(options.GuestDir, spec.Guest!);
        var (volumeDisks, filesystems) = await FindVolumesAsync(spec, ct).ConfigureAwait(false);
        CheckAllocatable(id, spec.Resources!);
        // Before anything is fetched or written: a link with the pod's tap name that is not the pod's refuses it.
        if (spec.Network is not null) await Task.Run(() => tap.CheckNotForeign(id), ct).ConfigureAwait(false);

        var images = await _images.PullAsync(id, spec, keepReferences: vms.Get(id) is not null, progress, ct).ConfigureAwait(false);

        string dir = Path.Combine(options.RunDir, id);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string serialLog = Path.Combine(dir, "serial.log");
        var shares = PodShares.Plan(dir, spec, filesystems);

        // Disks, in the VM's order: config, cache, layers (each blob once), volumes.
        var disks = new List<VmDisk>();
        var guestDisks = new List<GuestDisk>();
        string configTar = Path.Combine(dir, "config.tar");
        disks.Add(new VmDisk(configTar, true));
        guestDisks.Add(new GuestDisk(0, "config", ReadOnly: true));
        string cacheDisk = Path.Combine(dir, "cache.img");
        disks.Add(new VmDisk(cacheDisk, false));
        guestDisks.Add(new GuestDisk(1, "cache"));
        var layerDisk = new Dictionary<Digest, int>();
        var containers = new List<GuestContainer>();
        var volumeIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, path, _) in volumeDisks) volumeIndex[name] = -1;
        var store = _images.Store();
        for (int i = 0; i < spec.Containers!.Count; i++)
        {
            var c = spec.Containers[i];
            var img = images[i];
            var layers = new List<GuestLayer>();
            for (int l = 0; l < img.Layers.Count; l++)
            {
                var layer = img.Layers[l];
                if (!layerDisk.TryGetValue(layer.Digest, out int index))
                {
                    index = disks.Count;
                    layerDisk[layer.Digest] = index;
                    disks.Add(new VmDisk(store.PathOf(layer.Digest), true));
                    guestDisks.Add(new GuestDisk(index, "layer", Digest: layer.Digest.ToString(), ReadOnly: true));
                }
                layers.Add(new GuestLayer(index.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.Digest.ToString(), layer.MediaType, index,
                    img.DiffIds is { } d && l < d.Count ? d[l] : null));
            }
            containers.Add(new GuestContainer(c.Name!, img.Shown, img.Digest, layers, c.Process ?? new PodProcess(), c.Lifecycle ?? new PodLifecycle(), []));
        }
        foreach (var (name, path, readOnly) in volumeDisks)
        {
            volumeIndex[name] = disks.Count;
            guestDisks.Add(new GuestDisk(disks.Count, "volume", Volume: name, ReadOnly: readOnly));
            disks.Add(new VmDisk(path, readOnly));
        }
        for (int i = 0; i < containers.Count; i++)
        {
            var mounts = (spec.Containers[i].VolumeMounts ?? []).Select(m => filesystems.ContainsKey(m.Volume!)
                    ? new GuestMount(m.Volume!, m.VolumePath ?? "", m.GuestPath!, m.ReadOnly, -1, PodShares.TagOf(shares, spec.Volumes!.First(v => v.Name == m.Volume).Volume!, m))
                    : new GuestMount(m.Volume!, m.VolumePath ?? "", m.GuestPath!, m.ReadOnly, volumeIndex[m.Volume!])).ToList();
            containers[i] = containers[i] with { Mounts = mounts };
        }

        string? tapName = null;
        GuestNetwork? network = null;
        string mac = PodTap.MacOf(id);
        if (spec.Network is { } n)
        {
            var ip6 = IPAddress.Parse(n.Ip6!);
            var ip4 = n.Ip4 is null ? null : IPAddress.Parse(n.Ip4);
            tapName = await Task.Run(() => tap.Ensure(id, ip6, ip4, n.Vpc), ct).ConfigureAwait(false);
            network = new GuestNetwork(mac, n.Ip6!, n.Ip4, PodTap.Transit6.Address.ToString(), PodTap.Transit4.Address.ToString(),
                n.Nameservers ?? [], n.SearchDomain);
        }

        var guestLaunch = new GuestLaunch(1, id, guestDisks, containers, network);
        byte[] config = ConfigTar(JsonSerializer.SerializeToUtf8Bytes(guestLaunch, PodFilesJsonContext.Default.GuestLaunch));
        WriteIfChanged(configTar, config);
        if (!File.Exists(cacheDisk))
        {
            using var f = new FileStream(cacheDisk, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            f.SetLength(options.CacheDiskBytes); // sparse: the guest formats it
        }

        var launch = new VmLaunchFile(id, spec.Resources!.Vcpus, spec.Resources.MemoryMiB, guest.Kernel, guest.Initrd,
            guest.Cmdline ?? "console=ttyS0 panic=-1", serialLog, disks, tapName is null ? [] : [new VmNet(tapName, mac)],
            shares.Count == 0 ? null : shares.Select(s => new VmShare(s.Tag, s.Socket)).ToList());
        PodShares.Save(dir, shares);
        byte[] launchBytes = JsonSerializer.SerializeToUtf8Bytes(launch, PodFilesJsonContext.Default.VmLaunchFile);
        string launchFile = Path.Combine(dir, "launch.json");
        WriteIfChanged(launchFile, launchBytes);
        string hash = Convert.ToHexStringLower(SHA256.HashData([.. launchBytes, .. config, .. System.Text.Encoding.UTF8.GetBytes(spec.Restart ?? "always")]));

        var state = vms.Get(id);
        progress?.Report(new JsonObject { ["stage"] = "starting" });
        if (state is null || state.LaunchHash != hash || !state.Running)
        {
            if (state is not null) _log.LogInformation("restarting the VM of pod {Id}: {Why}", id, state.LaunchHash != hash ? "its launch changed" : "it is not running");
            _held[id] = (spec.Resources.Vcpus, spec.Resources.MemoryMiB);
            using var ready = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ready.CancelAfter(options.ReadyTimeout);
            if (ShareDaemons is { } daemons)
            {
                // Fresh daemons for a fresh VM (each serves one connection): the old VM goes first, its daemons with it.
                await vms.StopAsync(id, ct).ConfigureAwait(false);
                await daemons.StartAsync(id, dir, shares, ct).ConfigureAwait(false);
            }
            try
            {
                state = await vms.StartAsync(new VmStartRequest(id, launchFile, serialLog, spec.Restart ?? "always", hash), ready.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TransientReconcileException($"the VM of pod {id} did not report its guest running within {options.ReadyTimeout.TotalSeconds:0} s");
            }
            if (!state.Running)
            {
                var exit = state.LastExit;
                string tail = exit is { SerialTail.Count: > 0 } ? "; serial: " + string.Join(" | ", exit.SerialTail.TakeLast(5)) : "";
                if (exit?.Code == 65)
                {
                    // Never retried: what this pod has on the host goes now (as its delete would), so nothing is left behind.
                    try { await DeleteAsync(id, CancellationToken.None).ConfigureAwait(false); }
                    catch (Exception e) when (e is not OperationCanceledException) { _log.LogWarning("cleaning up pod {Id} after exit 65: {Error}", id, e.Message); }
                    throw new PermanentReconcileException($"the VMM refused the launch of pod {id} (exit 65){tail}", "spec");
                }
                throw new TransientReconcileException($"the VM of pod {id} exited with code {exit?.Code} before its guest ran{tail}");
            }
        }
        _images.Collect();
        var observed = Observe(id, state, images, network, tapName, disks.Count, guest.Name);
        if (shares.Count > 0)
        {
            if (ShareDaemons is { } running) await running.RefreshAsync(id, dir, shares, ct).ConfigureAwait(false);
            observed["shares"] = PodShares.Observed(shares, ShareDaemons?.Running(id));
        }
        return observed;
    }

    /// <summary>Stops the VM, removes the tap (and its routes), the pod's files and its image references; throws while anything is left.</summary>
    public async Task<JsonObject> DeleteAsync(string id, CancellationToken ct)
    {
        PodSpecValidator.ValidateId(id);
        await AdoptLeftOverVmsAsync(ct).ConfigureAwait(false);
        // A tap of the pod's name that is not the pod's refuses the delete before anything changes.
        await Task.Run(() => tap.CheckNotForeign(id), ct).ConfigureAwait(false);
        _generations.TryRemove(id, out _);
        await vms.StopAsync(id, ct).ConfigureAwait(false);
        string dir = Path.Combine(options.RunDir, id);
        // The shares' daemons after their VM; their read-only views are unmounted before the directory is removed.
        if (ShareDaemons is { } daemons) await daemons.StopAsync(id, dir, ct).ConfigureAwait(false);
        if (Directory.Exists(dir) && Kraud.Libc.Mounts.Below(dir).Count > 0)
            throw new TransientReconcileException($"pod {id}: {dir} still has mounts: {string.Join(", ", Kraud.Libc.Mounts.Below(dir))}");
        _held.TryRemove(id, out _);
        bool tapRemoved = await Task.Run(() => tap.Remove(id), ct).ConfigureAwait(false);
        bool filesRemoved = Directory.Exists(dir);
        if (filesRemoved) Directory.Delete(dir, recursive: true);
        int released = 0;
        if (Directory.Exists(options.ImagesDir))
        {
            var store = _images.Store();
            released = store.ReferencesOf(id).Count;
            store.Release(id);
            _images.Collect();
        }
        if (vms.Get(id) is not null || tap.Observe(id) is not null || Directory.Exists(dir) || _images.ReferencesOf(id) > 0)
            throw new TransientReconcileException($"pod {id}: something is still there after its delete");
        return new JsonObject { ["deleted"] = true, ["tapRemoved"] = tapRemoved, ["filesRemoved"] = filesRemoved, ["releasedBlobs"] = released };
    }

    public void Dispose() => _images.Dispose();

    /// <summary>
    /// lv2 volumes by their zvol (disks), nfs volumes by their mounted filesystem (shares, by spec.volumes[].name);
    /// anything else is refused naming the volume.
    /// </summary>
    private async Task<(List<(string Name, string Path, bool ReadOnly)>, Dictionary<string, string>)> FindVolumesAsync(PodSpec spec, CancellationToken ct)
    {
        var found = new List<(string, string, bool)>();
        var filesystems = new Dictionary<string, string>(StringComparer.Ordinal);
        var vs = spec.Volumes ?? [];
        for (int i = 0; i < vs.Count; i++)
        {
            string vol = vs[i].Volume!;
            string? path = Directory.Exists(options.ZvolDir)
                ? Directory.EnumerateDirectories(options.ZvolDir).Select(p => Path.Combine(p, "kraud", vol)).FirstOrDefault(File.Exists)
                : null;
            if (path is null && FindFilesystem is { } find && await find(vol, ct).ConfigureAwait(false) is { } mountpoint)
            {
                if (ShareDaemons is null)
                    throw PermanentReconcileException.At($"spec.volumes[{i}].volume", $"volume {vol} is an nfs volume and this agent runs no virtiofsd: {NoSharesReason ?? "no share daemons configured"}");
                filesystems[vs[i].Name!] = mountpoint;
                continue;
            }
            if (path is null)
                throw PermanentReconcileException.At($"spec.volumes[{i}].volume", $"volume {vol} is neither an lv2 nor a mounted nfs volume of this host");
            bool readOnly = (spec.Containers ?? []).SelectMany(c => c.VolumeMounts ?? []).Where(m => m.Volume == vs[i].Name).All(m => m.ReadOnly);
            found.Add((vs[i].Name!, path, readOnly));
        }
        return (found, filesystems);
    }

    private void CheckAllocatable(string id, PodResources want)
    {
        var (cpus, mem) = Allocatable;
        var others = _held.Where(kv => kv.Key != id).Select(kv => kv.Value).ToList();
        long memFree = mem - others.Sum(o => o.MemoryMiB);
        int cpuFree = cpus - others.Sum(o => o.Vcpus);
        if (want.MemoryMiB > memFree)
            throw new TransientReconcileException($"spec.resources.memoryMiB: {want.MemoryMiB} MiB asked, {memFree} MiB allocatable on this host (short by {want.MemoryMiB - memFree} MiB)");
        if (want.Vcpus > cpuFree)
            throw new TransientReconcileException($"spec.resources.vcpus: {want.Vcpus} asked, {cpuFree} allocatable on this host (short by {want.Vcpus - cpuFree})");
    }


    /// <summary>The config disk: a tar of one file, launch.json.</summary>
    private static byte[] ConfigTar(byte[] launchJson)
    {
        using var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Ustar, leaveOpen: true))
        {
            var entry = new UstarTarEntry(TarEntryType.RegularFile, "launch.json")
            {
                DataStream = new MemoryStream(launchJson), Mode = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UnixEpoch,
            };
            tar.WriteEntry(entry);
        }
        return ms.ToArray();
    }

    private static void WriteIfChanged(string path, byte[] content)
    {
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(content)) return;
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, content);
        File.Move(tmp, path, overwrite: true);
    }

    private static JsonObject Observe(string id, VmState state, List<PodImages.PulledPodImage> images, GuestNetwork? network, string? tapName, int disks, string guest)
    {
        var vm = VmNode(state);
        var imgs = new JsonArray();
        foreach (var img in images) imgs.Add((JsonNode)new JsonObject { ["container"] = img.Container, ["image"] = img.Shown, ["digest"] = img.Digest });
        return new JsonObject
        {
            ["vm"] = vm,
            ["guest"] = guest,
            ["images"] = imgs,
            ["network"] = network is null ? null : new JsonObject
            {
                ["tap"] = tapName, ["mac"] = network.Mac, ["ip6"] = network.Ip6, ["ip4"] = network.Ip4,
            },
            ["disks"] = disks,
        };
    }

    /// <summary>observed.vm: state (Running or Exited), unit, pid, startedAt, restarts, lastExit {code, at, serial}.</summary>
    public static JsonObject VmNode(VmState state)
    {
        return new JsonObject
        {
            ["state"] = state.Running ? "Running" : "Exited",
            ["unit"] = state.Unit,
            ["pid"] = state.Pid,
            ["startedAt"] = state.StartedAt?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["restarts"] = state.Restarts,
            ["lastExit"] = state.LastExit is { } e
                ? new JsonObject
                {
                    ["code"] = e.Code,
                    ["at"] = e.At.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    ["serial"] = new JsonArray(e.SerialTail.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
                }
                : null,
        };
    }
}
