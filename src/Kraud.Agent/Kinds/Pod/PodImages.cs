using System.Text.Json.Nodes;
using Kraud.Agent.Config;
using Kraud.Oci;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// The pods' images: one blob store under &lt;stateDir&gt;/images shared by every pod (opened at first use), pulls with
/// the pod as owner and progress for the Progressing status, and the collection of blobs no pod used for the grace:
/// after each pod's apply and delete, and on a timer every <see cref="CollectionPeriod"/> once the store is open, so a
/// deleted pod's blobs go soon after their grace also on a host where nothing else happens.
/// </summary>
public sealed class PodImages(PodOptions options, ILogger log) : IDisposable
{
    private readonly Lock _storeLock = new();
    private BlobStore? _store;
    private ImagePuller? _puller;
    private ITimer? _collector;
    private volatile bool _disposed;

    /// <summary>How often the timer collects: a quarter of the grace, between 1 s and 10 min (so a blob goes at most that late).</summary>
    public static TimeSpan CollectionPeriod(TimeSpan grace) =>
        TimeSpan.FromTicks(Math.Clamp(grace.Ticks / 4, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(10).Ticks));

    /// <summary>How many blobs <paramref name="id"/> still references (0 when the store was never opened).</summary>
    public int ReferencesOf(string id) => _store?.ReferencesOf(id).Count ?? 0;

    public void Dispose()
    {
        lock (_storeLock)
        {
            _disposed = true;
            _collector?.Dispose();
            _collector = null;
        }
        _puller?.Dispose();
        _store?.Dispose();
    }

    public BlobStore Store()
    {
        lock (_storeLock)
        {
            if (_store is null)
            {
                _store = new BlobStore(options.ImagesDir, log, options.Clock);
                _puller = new ImagePuller(_store, options.Registries, log);
                var period = CollectionPeriod(options.ImageCacheGrace);
                _collector = options.Clock.CreateTimer(_ => Collect(), null, period, period);
            }
            return _store;
        }
    }

    public void Collect()
    {
        if (_disposed) return;
        try
        {
            var r = Store().CollectGarbage(options.ImageCacheGrace, options.ImageCacheMaxBytes);
            if (r.Removed.Count > 0) log.LogInformation("image cache: removed {Count} blobs, {Bytes} bytes", r.Removed.Count, r.FreedBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            log.LogWarning("image cache collection failed: {Error}", e.Message);
        }
    }

    public sealed record PulledPodImage(string Container, string Shown, string? Digest, IReadOnlyList<ContentDescriptor> Layers, IReadOnlyList<string>? DiffIds, IReadOnlyList<Digest> Blobs);

    /// <summary>
    /// Pulls every container's image with the pod as owner and drops the references of an earlier generation's images
    /// it no longer uses. A permanent failure names `spec.containers[i].image`; the pod's references go too unless
    /// <paramref name="keepReferences"/> (a running VM keeps its current images').
    /// </summary>
    public async Task<List<PulledPodImage>> PullAsync(string id, PodSpec spec, bool keepReferences, IProgress<JsonObject>? progress, CancellationToken ct)
    {
        var store = Store();
        var results = new List<PulledPodImage>();
        for (int i = 0; i < spec.Containers!.Count; i++)
        {
            var image = spec.Containers[i].Image!;
            string field = $"spec.containers[{i}].image";
            try
            {
                if (image.IsBali)
                {
                    var sha = Digest.FromHex(image.Sha256!);
                    var verified = await BaliImage.PullAsync(store, image.Bali!, sha, [.. options.TrustedImageKeys], id, null, null, ct).ConfigureAwait(false);
                    results.Add(new PulledPodImage(spec.Containers[i].Name!, Redaction.Url(image.Bali!), sha.ToString(),
                        [new ContentDescriptor("application/vnd.kraud.bali.v1.tar+gzip", sha, new FileInfo(verified.Path).Length)], null, [sha]));
                }
                else
                {
                    var reference = PodSpecValidator.ReferenceOf(image);
                    long lastLogged = 0;
                    string container = spec.Containers[i].Name!;
                    var pulled = await _puller!.PullAsync(reference, id, p =>
                    {
                        progress?.Report(new JsonObject
                        {
                            ["stage"] = "pulling",
                            ["pull"] = new JsonObject { ["container"] = container, ["image"] = image.Ref, ["doneBytes"] = p.Done, ["totalBytes"] = p.Total },
                        });
                        if (p.Done - Interlocked.Read(ref lastLogged) < 16 << 20 && p.Done != p.Total) return;
                        Interlocked.Exchange(ref lastLogged, p.Done);
                        log.LogInformation("pulling {Image}: {Done} of {Total} bytes", image.Ref, p.Done, p.Total);
                    }, ct).ConfigureAwait(false);
                    results.Add(new PulledPodImage(spec.Containers[i].Name!, image.Ref!, pulled.Digest.ToString(), pulled.Layers, pulled.ImageConfig.RootFs?.DiffIds?.ToList(), pulled.Blobs));
                }
            }
            catch (OciException e) when (e.IsPermanent)
            {
                // Never retried: a pod without a VM keeps no references (a running one keeps its current images').
                if (!keepReferences) store.Release(id);
                throw PermanentReconcileException.At(field, e.Message, e);
            }
            catch (OciException e) { throw new TransientReconcileException($"{field}: {e.Message}", e); }
        }
        // References of an earlier generation's images that this one no longer uses.
        var used = results.SelectMany(r => r.Blobs).ToHashSet();
        var stale = store.ReferencesOf(id).Where(d => !used.Contains(d)).ToList();
        if (stale.Count > 0) store.Release(id, stale);
        return results;
    }

}
