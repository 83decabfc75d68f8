using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Kraud.Oci;

/// <summary>A bali image in the store whose signature verified: its file, its sha256 and who signed it.</summary>
public sealed record BaliVerified(string Path, Digest Digest, BaliIdentity Signer);

/// <summary>
/// bali images (github.com/kraudcloud/bali): a flattened rootfs tar(.gz) whose uncompressed stream ends in an
/// 80-byte trailer, <c>8 × 0x00, "iksig\0\0\0", 64-byte signature</c>. The signature is Ed25519ph (RFC 8032:
/// SHA-512 prehash) with context <c>"bali"</c> over every uncompressed byte before the trailer.
/// </summary>
public static class BaliImage
{
    private const int TrailerSize = 80;
    private static readonly byte[] Context = "bali"u8.ToArray();

    /// <summary>
    /// Fetches a bali file (https/http URL, file:// URL or absolute path) into the store under its sha256 (refused
    /// if the bytes hash otherwise), references it for the owner, and verifies its signature against the trusted
    /// identities. A file that fails verification stays unreferenced (the garbage collector removes it).
    /// </summary>
    /// <param name="http">Client for http(s) sources; null makes a default one for this call.</param>
    public static async Task<BaliVerified> PullAsync(BlobStore store, string source, Digest sha256, IReadOnlyCollection<BaliIdentity> trusted,
        string owner, Action<TransferProgress>? progress, HttpClient? http, CancellationToken ct)
    {
        if (trusted.Count == 0)
            throw new BaliSignatureException($"bali image {Shown(source)}: no trusted keys are configured, so no image can be accepted",
                BaliSignatureProblem.NoTrustedKeys);
        string shown = Shown(source);
        bool hadIt = store.ReferencesOf(owner).Contains(sha256);
        store.Reference(owner, [sha256]);
        HttpClient? own = null;
        try
        {
            BlobSource open = SourceOf(source, () => http ?? (own ??= new HttpClient()));
            string path = await store.GetOrAddAsync(sha256, null, open, progress, ct);
            BaliIdentity signer = await Task.Run(() => Verify(path, trusted, shown), ct);
            return new BaliVerified(path, sha256, signer);
        }
        catch
        {
            if (!hadIt) store.Release(owner, [sha256]);
            throw;
        }
        finally
        {
            own?.Dispose();
        }
    }

    /// <summary>
    /// Verifies a bali file's embedded signature; returns the trusted identity that signed it, or throws
    /// <see cref="BaliSignatureException"/> (malformed, unsigned, or signed by no trusted key).
    /// </summary>
    public static BaliIdentity Verify(string path, IReadOnlyCollection<BaliIdentity> trusted, string? name = null)
    {
        name ??= path;
        if (trusted.Count == 0)
            throw new BaliSignatureException($"bali image {name}: no trusted keys are configured", BaliSignatureProblem.NoTrustedKeys);
        (byte[] prehash, byte[] trailer) = HashContent(path, name);
        if (!trailer.AsSpan(8, 5).SequenceEqual("iksig"u8))
            throw new BaliSignatureException($"bali image {name} is not signed (no iksig trailer at the end of its tar stream)",
                BaliSignatureProblem.Unsigned);
        byte[] signature = trailer[16..];
        foreach (BaliIdentity id in trusted)
        {
            if (Ed25519.VerifyPrehash(signature, 0, id.PublicKey.ToArray(), 0, Context, prehash, 0)) return id;
        }
        throw new BaliSignatureException(
            $"bali image {name}: its signature does not verify against any of the {trusted.Count} trusted key(s) " +
            "(altered after signing, or signed by another key)", BaliSignatureProblem.BadSignature);
    }

    // SHA-512 of the uncompressed stream less its last 80 bytes, and those 80 bytes. gzip'd or plain, as bali reads them.
    private static (byte[] Prehash, byte[] Trailer) HashContent(string path, string name)
    {
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        using Stream content = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        // The last 80 bytes seen are held back until more arrive: at the end they are the trailer, not content.
        byte[] buffer = new byte[TrailerSize + 128 * 1024];
        int held = 0;
        try
        {
            int n;
            while ((n = content.Read(buffer, held, buffer.Length - held)) > 0)
            {
                held += n;
                if (held <= TrailerSize) continue;
                sha512.AppendData(buffer, 0, held - TrailerSize);
                Buffer.BlockCopy(buffer, held - TrailerSize, buffer, 0, TrailerSize);
                held = TrailerSize;
            }
        }
        catch (InvalidDataException e)
        {
            throw new BaliSignatureException($"bali image {name}: cannot decompress: {e.Message}", BaliSignatureProblem.Malformed);
        }
        if (held < TrailerSize)
            throw new BaliSignatureException($"bali image {name} is {held} bytes uncompressed, too short to hold a signature",
                BaliSignatureProblem.Malformed);
        return (sha512.GetHashAndReset(), buffer[..TrailerSize]);
    }

    // A source as it may appear in a message: no user info and no query (a signed URL's query is a credential).
    internal static string Shown(string source) =>
        Uri.TryCreate(source, UriKind.Absolute, out Uri? uri) && !uri.IsFile
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
            : source;

    private static BlobSource SourceOf(string source, Func<HttpClient> http)
    {
        if (Uri.TryCreate(source, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https")
            return (offset, ct) => OpenHttpAsync(http(), uri, offset, ct);
        string path = uri is { IsFile: true } ? uri.LocalPath : source;
        if (!Path.IsPathRooted(path)) throw new ArgumentException($"bali image source '{source}' is neither an http(s) URL nor an absolute path", nameof(source));
        return (offset, _) =>
        {
            FileStream f;
            try
            {
                f = File.OpenRead(path);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new OciException($"bali image {path}: no such file", permanent: true, e);
            }
            f.Position = Math.Min(offset, f.Length);
            return Task.FromResult(new BlobRange(f, f.Position, f.Length - f.Position));
        };
    }

    private static async Task<BlobRange> OpenHttpAsync(HttpClient http, Uri uri, long offset, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
        HttpResponseMessage response;
        string shown = Shown(uri.OriginalString);
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"bali image {shown}: {e.Message}", null, e);
        }
        if (!response.IsSuccessStatusCode)
        {
            response.Dispose();
            throw new RegistryException($"bali image {shown}: {(int)response.StatusCode} {response.ReasonPhrase}", response.StatusCode);
        }
        long start = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.From ?? 0 : 0;
        return new BlobRange(await response.Content.ReadAsStreamAsync(ct), start, response.Content.Headers.ContentLength);
    }
}
