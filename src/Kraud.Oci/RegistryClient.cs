using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Oci;

/// <summary>A manifest or index exactly as the registry sent it, with the sha256 of those bytes.</summary>
public sealed record RegistryManifest(Digest Digest, string? MediaType, byte[] Content);

/// <summary>A blob's bytes from <see cref="Start"/> on (0 when the source ignored a range), and how many follow if known.</summary>
public sealed record BlobRange(Stream Content, long Start, long? Length);

/// <summary>
/// The pull side of the OCI distribution API against one registry: manifests (verified against the digest they
/// were asked by, or the one the registry claims for a tag) and blobs as streams, with the registry's auth.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    /// <summary>Manifests larger than this are refused (containerd's limit): a manifest is a few KiB of JSON.</summary>
    public const int MaxManifestBytes = 4 << 20;

    private static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly RegistryAuth _auth;
    private readonly ILogger _logger;

    public RegistryClient(RegistryOptions options, ILogger? logger = null, TimeProvider? time = null)
    {
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        _http = RegistryHttp.Create(options);
        _auth = new RegistryAuth(options, _http, time ?? TimeProvider.System, _logger);
    }

    public RegistryOptions Options { get; }

    /// <summary>
    /// Fetches a manifest or index by tag or digest. By digest, bytes that do not hash to it are refused; by tag,
    /// bytes that do not hash to the registry's Docker-Content-Digest are refused. The digest returned is always the
    /// sha256 of the bytes returned.
    /// </summary>
    public async Task<RegistryManifest> GetManifestAsync(string repository, string reference, CancellationToken ct)
    {
        Digest? pinned = Digest.TryParse(reference, out var d, out _) ? d : null;
        string what = pinned is null ? $"manifest {repository}:{reference}" : $"manifest {repository}@{reference}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(HeadersTimeout);
        using HttpResponseMessage response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, Url(repository, "manifests", reference));
            r.Headers.Accept.ParseAdd(MediaTypes.ManifestAccept);
            return r;
        }, repository, what, timeout.Token, ct);
        await EnsureSuccessAsync(response, what, ct);

        if (response.Content.Headers.ContentLength > MaxManifestBytes)
            throw new ImageFormatException($"registry {Options.Host}: {what} is {response.Content.Headers.ContentLength} bytes, over the {MaxManifestBytes} allowed");
        byte[] content = await ReadCappedAsync(response.Content, $"registry {Options.Host}: {what}", timeout.Token, ct);
        var actual = Digest.Of(content);
        if (pinned is { } expected && actual != expected)
            throw new DigestMismatchException($"registry {Options.Host}: {what}", expected, actual);
        if (pinned is null && response.Headers.TryGetValues("Docker-Content-Digest", out var claimed)
            && Digest.TryParse(claimed.FirstOrDefault(), out var claimedDigest, out _) && claimedDigest != actual)
            throw new DigestMismatchException($"registry {Options.Host}: {what} (its Docker-Content-Digest)", claimedDigest, actual);
        _logger.LogDebug("registry {Registry}: {What} is {Digest} ({Bytes} bytes)", Options.Host, what, actual, content.Length);
        return new RegistryManifest(actual, response.Content.Headers.ContentType?.MediaType, content);
    }

    /// <summary>
    /// Opens a blob for streaming, from <paramref name="offset"/> on if the registry honours ranges (the result says
    /// where it starts). The caller verifies the bytes and disposes the stream.
    /// </summary>
    public async Task<BlobRange> GetBlobAsync(string repository, Digest digest, long offset, CancellationToken ct)
    {
        string what = $"blob {digest} of {repository}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(HeadersTimeout);
        HttpResponseMessage response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, Url(repository, "blobs", digest.ToString()));
            if (offset > 0) r.Headers.Range = new RangeHeaderValue(offset, null);
            return r;
        }, repository, what, timeout.Token, ct);
        try
        {
            await EnsureSuccessAsync(response, what, ct);
            long start = 0;
            if (response.StatusCode == HttpStatusCode.PartialContent)
                start = response.Content.Headers.ContentRange?.From ?? throw new RegistryException(
                    $"registry {Options.Host}: {what}: 206 without a Content-Range", response.StatusCode);
            Stream body = await response.Content.ReadAsStreamAsync(ct);
            return new BlobRange(body, start, response.Content.Headers.ContentLength);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public void Dispose() => _http.Dispose();

    private Uri Url(string repository, string kind, string reference) =>
        new(Options.BaseUri, $"v2/{repository}/{kind}/{reference}");

    // Sends with what auth is known; on a 401 learns the challenge and sends once more. A second 401 is final.
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, string repository, string what,
        CancellationToken timeout, CancellationToken ct)
    {
        string scope = $"repository:{repository}:pull";
        for (int attempt = 0; ; attempt++)
        {
            using HttpRequestMessage request = make();
            HttpResponseMessage response;
            try
            {
                await _auth.ApplyAsync(request, scope, timeout);
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout);
            }
            catch (HttpRequestException e)
            {
                // "The SSL connection could not be established, see inner exception": the inner one says why.
                string why = e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
                throw new RegistryException($"registry {Options.Host}: {what}: {why}", null, e);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new RegistryException($"registry {Options.Host}: {what}: no answer within {HeadersTimeout.TotalSeconds:0} s", null, e);
            }
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0) return response;
            using (response) await _auth.OnUnauthorizedAsync(response, scope, timeout);
        }
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        string detail = await ErrorDetailAsync(response, ct);
        string hint = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => Options.Username is null
                ? " (anonymous access refused)"
                : $" (access refused to user '{Options.Username}')",
            _ => "",
        };
        throw new RegistryException($"registry {Options.Host}: {what}: {(int)response.StatusCode} {response.ReasonPhrase}{hint}{detail}",
            response.StatusCode);
    }

    // The registry's own error codes ("MANIFEST_UNKNOWN: manifest unknown") say more than the status line.
    private static async Task<string> ErrorDetailAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            byte[] body = await ReadCappedAsync(response.Content, "error body", ct, ct, cap: 8192, throwOver: false);
            var errors = JsonSerializer.Deserialize(body, OciJsonContext.Default.RegistryErrorBody)?.Errors;
            if (errors is not { Length: > 0 }) return "";
            string text = string.Join("; ", errors.Select(e => $"{e.Code}: {e.Message}"));
            return ": " + (text.Length > 300 ? text[..300] + "…" : text);
        }
        catch (Exception e) when (e is JsonException or RegistryException or ImageFormatException)
        {
            return "";
        }
    }

    private static async Task<byte[]> ReadCappedAsync(HttpContent content, string what, CancellationToken timeout, CancellationToken ct,
        int cap = MaxManifestBytes, bool throwOver = true)
    {
        try
        {
            await using Stream s = await content.ReadAsStreamAsync(timeout);
            var buffer = new MemoryStream();
            byte[] chunk = new byte[16384];
            int n;
            while ((n = await s.ReadAsync(chunk, timeout)) > 0)
            {
                if (buffer.Length + n > cap)
                {
                    if (!throwOver) break;
                    throw new ImageFormatException($"{what} is over the {cap} bytes allowed");
                }
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RegistryException($"{what}: body not received within {HeadersTimeout.TotalSeconds:0} s", null, e);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"{what}: {e.Message}", null, e);
        }
        catch (IOException e)
        {
            throw new RegistryException($"{what}: {e.Message}", null, e);
        }
    }
}
