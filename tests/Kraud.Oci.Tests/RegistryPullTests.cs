using System.Security.Cryptography;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Testing;

namespace Kraud.Oci.Tests;

/// <summary>Pulls from a real docker-registry over plain HTTP: formats, platforms, verification, sharing.</summary>
public sealed class RegistryPullTests(PlainRegistry registry) : IClassFixture<PlainRegistry>, IDisposable
{
    private readonly TempDir _dir = new("kraud-oci-store");

    private (BlobStore Store, ImagePuller Puller) Open()
    {
        var store = new BlobStore(_dir.Path);
        return (store, new ImagePuller(store, [registry.Options]));
    }

    [Fact]
    public async Task A_tag_pull_stores_every_blob_under_its_digest_and_reports_what_the_tag_resolved_to()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        PulledImage image = await puller.PullAsync(registry.Ref("test/app:v1"), "pod-a", null, CancellationToken.None);

        Assert.Equal(Skopeo.DigestOf(registry.Server.Host, "test/app", "v1"), image.Digest);
        Assert.Equal(registry.AppManifest.Digest, image.ManifestDigest);
        Assert.Equal(image.Digest, image.Reference.Digest);
        Assert.Equal(registry.AppLayers.Select(l => l.Digest), image.Layers.Select(l => l.Digest));
        Assert.Equal(["/bin/app"], image.ImageConfig.Config?.Cmd ?? []);
        foreach (Digest d in image.Blobs)
        {
            string path = store.PathOf(d);
            Assert.Equal(d, Digest.FromHex(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        // The layer on disk is byte for byte the blob skopeo pushed (compressed, as the guest will get it).
        Assert.Equal(File.ReadAllBytes(registry.Layout.BlobPath(registry.AppLayers[0].Digest)), File.ReadAllBytes(store.PathOf(image.Layers[0].Digest)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(store.BlobDirectory));
        Assert.Equal(image.Blobs.ToHashSet(), store.ReferencesOf("pod-a"));
        Assert.Empty(Directory.GetFiles(store.BlobDirectory, ".*"));
    }

    [Fact]
    public async Task A_docker_schema2_image_pulls_with_its_docker_media_types()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        PulledImage image = await puller.PullAsync(registry.Ref("test/app-docker:v1"), "pod-d", null, CancellationToken.None);

        Assert.Equal(Skopeo.DigestOf(registry.Server.Host, "test/app-docker", "v1"), image.Digest);
        Assert.Equal(MediaTypes.DockerConfig, image.Config.MediaType);
        Assert.All(image.Layers, l => Assert.Equal(MediaTypes.DockerLayerGzip, l.MediaType));
        // Same layer bytes as the OCI image: the store holds them once.
        Assert.Equal(registry.AppLayers.Select(l => l.Digest), image.Layers.Select(l => l.Digest));
        Assert.Contains("\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\"",
            File.ReadAllText(store.PathOf(image.ManifestDigest)).Replace(" ", ""));
    }

    [Fact]
    public async Task An_index_resolves_to_its_linux_amd64_image_and_fetches_nothing_of_the_others()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        PulledImage image = await puller.PullAsync(registry.Ref("test/multi:multi"), "pod-m", null, CancellationToken.None);

        Assert.Equal(Skopeo.DigestOf(registry.Server.Host, "test/multi", "multi"), image.Digest);
        Assert.NotEqual(image.Digest, image.ManifestDigest);
        Assert.Equal(registry.AmdInIndex.Digest, image.ManifestDigest);
        Assert.Equal("amd64", image.ImageConfig.Architecture);
        Assert.False(store.Contains(registry.ArmInIndex.Digest));
        Assert.False(store.Contains(registry.ArmLayer.Digest));
        Assert.Contains(image.Digest, store.ReferencesOf("pod-m"));
    }

    [Fact]
    public async Task A_docker_manifest_list_resolves_to_its_linux_amd64_image()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        PulledImage image = await puller.PullAsync(registry.Ref("test/multi-docker:multi"), "pod-l", null, CancellationToken.None);

        Assert.Equal(Skopeo.DigestOf(registry.Server.Host, "test/multi-docker", "multi"), image.Digest);
        Assert.Contains(MediaTypes.DockerManifestList, File.ReadAllText(store.PathOf(image.Digest)));
        Assert.Contains(MediaTypes.DockerManifest, File.ReadAllText(store.PathOf(image.ManifestDigest)));
        Assert.Equal([registry.AmdLayer.Digest], image.Layers.Select(l => l.Digest));
        Assert.False(store.Contains(registry.ArmLayer.Digest));
    }

    [Fact]
    public async Task An_index_without_linux_amd64_fails_naming_what_it_offers()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        var e = await Assert.ThrowsAsync<ImageFormatException>(() => puller.PullAsync(registry.Ref("test/noamd:noamd"), "p", null, CancellationToken.None));

        Assert.Contains("no linux/amd64 image", e.Message);
        Assert.Contains("linux/arm64, linux/s390x", e.Message);
        Assert.True(e.IsPermanent);
    }

    [Fact]
    public async Task A_single_arm64_image_is_refused_naming_its_platform()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        var e = await Assert.ThrowsAsync<ImageFormatException>(() => puller.PullAsync(registry.Ref("test/arm:arm"), "p", null, CancellationToken.None));

        Assert.Contains($"image {registry.ArmInIndex.Digest} is for linux/arm64, not linux/amd64", e.Message);
    }

    [Fact]
    public async Task An_unknown_tag_is_a_permanent_404_naming_the_tag_and_the_registry_code()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        var e = await Assert.ThrowsAsync<RegistryException>(() => puller.PullAsync(registry.Ref("test/app:nope"), "p", null, CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, e.Status);
        Assert.True(e.IsPermanent);
        Assert.Contains("test/app:nope", e.Message);
        Assert.Contains("MANIFEST_UNKNOWN", e.Message);
    }

    [Fact]
    public async Task A_blob_the_registry_serves_corrupted_is_refused_naming_its_digest_and_leaves_no_file()
    {
        // Same size, other bytes: only the hash can tell.
        string data = registry.Server.BlobDataPath(registry.CorruptLayer.Digest);
        File.WriteAllBytes(data, RandomNumberGenerator.GetBytes((int)new FileInfo(data).Length));
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;

        var e = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            puller.PullAsync(registry.Ref("test/corrupt-blob:corrupt-blob"), "p", null, CancellationToken.None));

        Assert.Equal(registry.CorruptLayer.Digest, e.Expected);
        Assert.Contains(registry.CorruptLayer.Digest.ToString(), e.Message);
        Assert.False(store.Contains(registry.CorruptLayer.Digest));
        Assert.Empty(Directory.GetFiles(store.BlobDirectory, $"*{registry.CorruptLayer.Digest.Hex}*"));
    }

    [Fact]
    public async Task A_manifest_that_does_not_hash_to_its_digest_is_refused_by_digest_and_by_tag()
    {
        // Still valid JSON (the registry parses manifests before serving them), but not the bytes that were pushed.
        string data = registry.Server.BlobDataPath(registry.CorruptManifest.Digest);
        File.WriteAllText(data, File.ReadAllText(data) + "\n");
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;
        var pinned = ImageReference.Parse($"{registry.Server.Host}/test/corrupt-manifest@{registry.CorruptManifest.Digest}");

        var byDigest = await Assert.ThrowsAsync<DigestMismatchException>(() => puller.PullAsync(pinned, "p", null, CancellationToken.None));
        var byTag = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            puller.PullAsync(registry.Ref("test/corrupt-manifest:corrupt-manifest"), "p", null, CancellationToken.None));

        Assert.Equal(registry.CorruptManifest.Digest, byDigest.Expected);
        Assert.Contains(registry.CorruptManifest.Digest.ToString(), byDigest.Message);
        Assert.Equal(registry.CorruptManifest.Digest, byTag.Expected);
        Assert.Contains("Docker-Content-Digest", byTag.Message);
        Assert.False(store.Contains(registry.CorruptManifest.Digest));
    }

    [Fact]
    public async Task Progress_counts_up_to_the_images_total_bytes()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;
        var reports = new List<TransferProgress>();

        PulledImage image = await puller.PullAsync(registry.Ref("test/app:v1"), "p", p => reports.Add(p), CancellationToken.None);

        long total = image.Config.Size + image.Layers.Sum(l => l.Size);
        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.Equal(total, r.Total));
        Assert.Equal(total, reports[^1].Done);
        for (int i = 1; i < reports.Count; i++) Assert.True(reports[i].Done >= reports[i - 1].Done, "progress went backwards");
    }

    [Fact]
    public async Task Two_owners_pulling_one_image_at_once_fetch_each_blob_once_and_both_reference_it()
    {
        var (store, puller) = Open();
        using var _ = store;
        using var __ = puller;
        int[] before = [.. registry.SharedLayers.Select(l => registry.Server.BlobGets(l.Digest))];
        // The first pull's progress callback runs on its transfer: holding it there keeps the transfer open until the
        // second pull has asked for the same blobs, so the two certainly overlap.
        using var hold = new ManualResetEventSlim();
        var transferring = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Hold(TransferProgress p)
        {
            transferring.TrySetResult();
            Assert.True(hold.Wait(TimeSpan.FromSeconds(30)), "the test never released the first pull");
        }

        var first = puller.PullAsync(registry.Ref("test/shared:shared"), "pod-1", Hold, CancellationToken.None);
        await transferring.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var second = puller.PullAsync(registry.Ref("test/shared:shared"), "pod-2", null, CancellationToken.None);
        await Deadline.WaitUntilAsync(() => registry.SharedLayers.All(l => store.ReferencesOf("pod-2").Contains(l.Digest)),
            TimeSpan.FromSeconds(10), "the second pull to reach the layers");
        hold.Set();
        var both = await Task.WhenAll(first, second);

        Assert.Equal(both[0].Blobs, both[1].Blobs);
        // The registry's access log is written after the response: wait for its lines rather than sleep.
        await Deadline.WaitUntilAsync(() => registry.SharedLayers.Sum(l => registry.Server.BlobGets(l.Digest)) >= before.Sum() + 2,
            TimeSpan.FromSeconds(10), "the registry's access log");
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i] + 1, registry.Server.BlobGets(registry.SharedLayers[i].Digest));
        Assert.Equal(both[0].Blobs.ToHashSet(), store.ReferencesOf("pod-1"));
        Assert.Equal(both[0].Blobs.ToHashSet(), store.ReferencesOf("pod-2"));
    }

    [Fact]
    public async Task A_pinned_image_already_stored_needs_no_registry()
    {
        var (store, puller) = Open();
        using var _ = store;
        PulledImage first;
        using (puller) first = await puller.PullAsync(registry.Ref("test/app:v1"), "p", null, CancellationToken.None);

        // Nothing listens on the port this reference names.
        var offline = ImageReference.Parse($"127.0.0.1:{FreePort.Next()}/test/app@{first.Digest}");
        using var offlinePuller = new ImagePuller(store, [new RegistryOptions { Host = offline.Registry, PlainHttp = true }]);
        PulledImage again = await offlinePuller.PullAsync(offline, "p2", null, CancellationToken.None);

        Assert.Equal(first.Blobs, again.Blobs);
        Assert.Equal(first.Blobs.ToHashSet(), store.ReferencesOf("p2"));
    }

    [Fact]
    public async Task A_blob_download_resumes_from_a_partial_file_with_a_range_request()
    {
        using var store = new BlobStore(_dir.Path);
        using var client = new RegistryClient(registry.Options);
        var layer = registry.SharedLayers[0];
        byte[] whole = File.ReadAllBytes(registry.Layout.BlobPath(layer.Digest));
        int half = whole.Length / 2;
        File.WriteAllBytes(Path.Combine(store.BlobDirectory, $".{layer.Digest.Hex}.partial"), whole[..half]);
        var reports = new List<TransferProgress>();

        string path = await store.GetOrAddAsync(layer.Digest, layer.Size, (o, ct) => client.GetBlobAsync("test/shared", layer.Digest, o, ct),
            reports.Add, CancellationToken.None);

        // The first report is where the registry's 206 picked up: the half already on disk.
        Assert.Equal(half, reports[0].Done);
        Assert.Equal(whole, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task A_partial_file_with_wrong_bytes_is_thrown_away_and_the_blob_fetched_whole()
    {
        using var store = new BlobStore(_dir.Path);
        using var client = new RegistryClient(registry.Options);
        var layer = registry.SharedLayers[1];
        File.WriteAllBytes(Path.Combine(store.BlobDirectory, $".{layer.Digest.Hex}.partial"), RandomNumberGenerator.GetBytes(1000));

        string path = await store.GetOrAddAsync(layer.Digest, layer.Size, (o, ct) => client.GetBlobAsync("test/shared", layer.Digest, o, ct),
            null, CancellationToken.None);

        Assert.Equal(File.ReadAllBytes(registry.Layout.BlobPath(layer.Digest)), File.ReadAllBytes(path));
    }

    public void Dispose() => _dir.Dispose();
}
