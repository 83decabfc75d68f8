using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Oci;

/// <summary>An image in the store, ready to use: what its reference resolved to, and its config and layers.</summary>
/// <param name="Reference">The reference asked for, pinned to <paramref name="Digest"/>.</param>
/// <param name="Digest">What the reference resolved to: the index's digest for a multi-platform image, else the manifest's.</param>
/// <param name="ManifestDigest">The linux/amd64 image manifest (equal to Digest when there is no index).</param>
/// <param name="Config">The image config blob.</param>
/// <param name="Layers">The layer blobs, bottom first, each at <see cref="BlobStore.PathOf"/>.</param>
/// <param name="ImageConfig">The parsed config: platform, default process, diff ids.</param>
public sealed record PulledImage(ImageReference Reference, Digest Digest, Digest ManifestDigest, ContentDescriptor Config,
    IReadOnlyList<ContentDescriptor> Layers, ImageConfig ImageConfig)
{
    /// <summary>Every blob of the image in the store: manifests, config, layers (what the owner references).</summary>
    public IReadOnlyList<Digest> Blobs { get; init; } = [];
}

/// <summary>
/// Pulls linux/amd64 images into a <see cref="BlobStore"/> for an owner: resolves the reference (a pinned digest
/// already stored needs no registry at all), references every blob for the owner before fetching it, fetches the
/// missing ones a few at a time and reports bytes done of the image's total. A failed pull leaves the owner's
/// references in place, so a retry reuses what was fetched; release the owner when it is gone.
/// </summary>
public sealed class ImagePuller : IDisposable
{
    private const string Os = "linux", Architecture = "amd64";
    private const int MaxConfigBytes = 8 << 20;

    private readonly BlobStore _store;
    private readonly IReadOnlyList<RegistryOptions> _registries;
    private readonly ILogger _logger;
    private readonly TimeProvider? _time;
    private readonly Dictionary<string, RegistryClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="registries">The configured registries; a registry not among them is reached anonymously over HTTPS
    /// with the system's CAs.</param>
    public ImagePuller(BlobStore store, IEnumerable<RegistryOptions> registries, ILogger? logger = null, TimeProvider? time = null)
    {
        _store = store;
        _registries = [.. registries];
        _logger = logger ?? NullLogger.Instance;
        _time = time;
    }

    /// <summary>Blobs fetched at once per pull (docker and containerd default to 3).</summary>
    public int MaxConcurrentDownloads { get; init; } = 3;

    public async Task<PulledImage> PullAsync(ImageReference image, string owner, Action<TransferProgress>? progress, CancellationToken ct)
    {
        string where = image.ToString();
        var top = await ManifestAsync(image, image.ManifestReference, image.Digest, owner, where, ct);
        var blobs = new List<Digest> { top.Digest };
        ImageManifest manifest = top;
        if (top.IsIndex)
        {
            var child = PickPlatform(top, where);
            manifest = await ManifestAsync(image, child.Digest.ToString(), child.Digest, owner, where, ct);
            if (manifest.IsIndex)
                throw new ImageFormatException($"{where}: index {top.Digest} points to another index {manifest.Digest} " +
                                               $"for {Os}/{Architecture}; nested indexes are not supported");
            blobs.Add(manifest.Digest);
        }
        List<ContentDescriptor> contents = [manifest.Config!, .. manifest.Layers];
        _store.Reference(owner, contents.Select(c => c.Digest));
        blobs.AddRange(contents.Select(c => c.Digest));
        if (manifest.Config!.Size > MaxConfigBytes)
            throw new ImageFormatException($"{where}: config {manifest.Config.Digest} is {manifest.Config.Size} bytes, over the {MaxConfigBytes} allowed");

        _logger.LogInformation("pulling {Image}: {Digest}, {Layers} layers, {Bytes} bytes", where, top.Digest, manifest.Layers.Count,
            contents.Sum(c => c.Size));
        await FetchAllAsync(image, contents, progress, ct);

        ImageConfig config = ReadConfig(manifest.Config, where);
        if (config.Os != Os || config.Architecture != Architecture)
            throw new ImageFormatException($"{where}: image {manifest.Digest} is for {config.Os}/{config.Architecture}, not {Os}/{Architecture}");
        if (config.RootFs?.DiffIds is { } diffIds && diffIds.Length != manifest.Layers.Count)
            throw new ImageFormatException($"{where}: config lists {diffIds.Length} diff ids for {manifest.Layers.Count} layers");
        return new PulledImage(image.WithDigest(top.Digest), top.Digest, manifest.Digest, manifest.Config, manifest.Layers, config)
        {
            Blobs = blobs,
        };
    }

    public void Dispose()
    {
        lock (_clients)
        {
            foreach (var c in _clients.Values) c.Dispose();
            _clients.Clear();
        }
    }

    // A manifest by digest comes from the store when it is there; by tag (or missing) from the registry, then stored.
    private async Task<ImageManifest> ManifestAsync(ImageReference image, string reference, Digest? pinned, string owner, string where,
        CancellationToken ct)
    {
        if (pinned is { } digest && _store.Contains(digest))
        {
            _store.Reference(owner, [digest]);
            byte[] stored = await File.ReadAllBytesAsync(_store.PathOf(digest), ct);
            return ImageManifest.Parse(digest, null, stored, where);
        }
        RegistryManifest fetched = await Client(image).GetManifestAsync(image.Repository, reference, ct);
        _store.Reference(owner, [fetched.Digest]);
        _store.Add(fetched.Digest, fetched.Content);
        return ImageManifest.Parse(fetched.Digest, fetched.MediaType, fetched.Content, where);
    }

    private static ContentDescriptor PickPlatform(ImageManifest index, string where)
    {
        // An exact linux/amd64 first; one with a variant (amd64/v2, v3) only if that is all there is.
        var wanted = $"{Os}/{Architecture}";
        var match = index.Manifests.FirstOrDefault(m => m.Platform == wanted);
        if (match.Manifest is null) match = index.Manifests.FirstOrDefault(m => m.Platform.StartsWith(wanted + "/", StringComparison.Ordinal));
        if (match.Manifest is null)
        {
            string offered = index.Manifests.Count == 0 ? "no platforms" : string.Join(", ", index.Manifests.Select(m => m.Platform).Distinct());
            throw new ImageFormatException($"{where}: index {index.Digest} has no {wanted} image (it offers {offered})");
        }
        if (!MediaTypes.IsManifest(match.Manifest.MediaType) && !MediaTypes.IsIndex(match.Manifest.MediaType))
            throw new ImageFormatException($"{where}: index {index.Digest} points to {match.Manifest.MediaType} for {wanted}, not a manifest");
        return match.Manifest;
    }

    private async Task FetchAllAsync(ImageReference image, List<ContentDescriptor> contents, Action<TransferProgress>? progress, CancellationToken ct)
    {
        RegistryClient client = Client(image);
        long total = contents.Sum(c => c.Size);
        var done = new long[contents.Count];
        var gate = new Lock();
        void Report(int i, long bytes)
        {
            if (progress is null) return;
            // One report at a time, in order: the caller's callback need not be thread-safe.
            lock (gate)
            {
                done[i] = bytes;
                progress(new TransferProgress(done.Sum(), total));
            }
        }
        await Parallel.ForEachAsync(Enumerable.Range(0, contents.Count),
            new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentDownloads, CancellationToken = ct },
            async (i, token) =>
            {
                ContentDescriptor c = contents[i];
                await _store.GetOrAddAsync(c.Digest, c.Size, (offset, t) => client.GetBlobAsync(image.Repository, c.Digest, offset, t),
                    p => Report(i, p.Done), token);
            });
    }

    private ImageConfig ReadConfig(ContentDescriptor descriptor, string where)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(_store.PathOf(descriptor.Digest)), OciJsonContext.Default.ImageConfig)
                   ?? throw new ImageFormatException($"{where}: config {descriptor.Digest} is JSON null");
        }
        catch (JsonException e)
        {
            throw new ImageFormatException($"{where}: config {descriptor.Digest} is not valid JSON: {e.Message}");
        }
    }

    private RegistryClient Client(ImageReference image)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(image.Registry, out var client))
            {
                RegistryOptions options = RegistryOptions.Find(_registries, image) ?? new RegistryOptions { Host = image.Registry };
                _clients[image.Registry] = client = new RegistryClient(options, _logger, _time);
            }
            return client;
        }
    }
}
