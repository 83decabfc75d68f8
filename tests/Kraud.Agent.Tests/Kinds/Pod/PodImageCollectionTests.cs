using System.Text.Json;
using Kraud.Agent.Kinds.Pod;
using Kraud.Oci;
using Kraud.Vmm.Tests;
using Microsoft.Extensions.Time.Testing;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// The image cache end to end: two pods from two images of the real registry (PodRegistry) run on /dev/kvm with the
/// published kraud-vmm; one is deleted, and once its blobs' grace has passed on the cache's clock (nothing else
/// happens on the host meanwhile: no pod is applied or deleted) its blob files are gone from the cache directory,
/// while the other pod's stay with its VM running.
/// </summary>
public sealed class PodImageCollectionTests(PodRegistry registry) : IClassFixture<PodRegistry>, IAsyncLifetime
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);
    private readonly TempDir _dir = new("kraud-pod-gc");
    private readonly CapturingLogger _log = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
    private ChildProcessVmSupervisor _vms = null!;
    private PodReconciler _pods = null!;
    private string BlobDir => Path.Combine(_dir.Path, "images", "blobs", "sha256");

    public Task InitializeAsync()
    {
        string guest = Path.Combine(_dir.Path, "guest", "default");
        Directory.CreateDirectory(guest);
        File.Copy(TestGuests.Path("idle"), Path.Combine(guest, "kernel"));
        File.WriteAllText(Path.Combine(guest, "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel"}}""");
        string runDir = Path.Combine(_dir.Path, "vm");
        Directory.CreateDirectory(runDir);
        _vms = new ChildProcessVmSupervisor(AgentBinary.VmmPath, runDir, logger: _log);
        _pods = new PodReconciler(new PodOptions
        {
            GuestDir = Path.Combine(_dir.Path, "guest"), RunDir = runDir, ImagesDir = Path.Combine(_dir.Path, "images"),
            Registries = [new RegistryOptions { Host = registry.Server.Host, PlainHttp = true }],
            CacheDiskBytes = 1 << 20, ImageCacheGrace = Grace, Clock = _clock,
        }, _vms, new PodTap(), _log);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _vms.DisposeAsync();
        _pods.Dispose();
        _dir.Dispose();
    }

    private static PodSpec Spec(string image) => ResourceEnvelope.ReadSpec(JsonDocument.Parse($$"""
        { "resources": { "vcpus": 1, "memoryMiB": 32 }, "guest": "default", "restart": "always",
          "containers": [ { "name": "app", "image": { "ref": "{{image}}" } } ] }
        """).RootElement, PodJsonContext.Default.PodSpec);

    private HashSet<string> Blobs() => Directory.EnumerateFiles(BlobDir).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).ToHashSet()!;

    [Fact]
    public async Task A_deleted_pods_blobs_are_removed_from_the_cache_after_the_grace_and_another_pods_stay()
    {
        await _pods.ApplyAsync("pod-gone", Spec($"{registry.Server.Host}/test/app:v1"), CancellationToken.None);
        var gone = Blobs();
        Assert.Contains(registry.Layer.Digest.Hex, gone);
        var kept = await _pods.ApplyAsync("pod-kept", Spec($"{registry.Server.Host}/test/other:other"), CancellationToken.None);
        var other = Blobs().Except(gone).ToHashSet();
        Assert.Contains(registry.OtherLayer.Digest.Hex, other);
        Assert.True(gone.Count >= 2 && other.Count >= 2, $"blobs: {gone.Count} of test/app, {other.Count} of test/other"); // config and layer at least

        // The delete drops the pod's references; its blobs stay for the grace (a pod of the same image would start at once).
        await _pods.DeleteAsync("pod-gone", CancellationToken.None);
        Assert.True(gone.IsSubsetOf(Blobs()));
        _clock.Advance(Grace - TimeSpan.FromMinutes(1));
        Assert.True(gone.IsSubsetOf(Blobs()), "removed before the grace had passed");

        // The grace passes with nothing else happening: the cache's own collection removes them, and only them.
        _clock.Advance(TimeSpan.FromMinutes(1) + PodImages.CollectionPeriod(Grace));
        await Deadline.WaitUntilAsync(() => !Blobs().Overlaps(gone), TimeSpan.FromSeconds(10), "the deleted pod's blobs removed");
        Assert.Equal(other, Blobs());
        Assert.Contains(_log.Lines, l => l.Message.Contains($"removed {registry.Layer.Digest}", StringComparison.Ordinal));
        var vm = _vms.Get("pod-kept");
        Assert.True(vm is { Running: true } && vm.Pid == (int)kept["vm"]!["pid"]!, "the other pod's VM is not running as it was");

        await _pods.DeleteAsync("pod-kept", CancellationToken.None);
    }
}
