using System.Net;

namespace Kraud.Oci;

/// <summary>
/// What this library throws about images (besides argument errors and cancellation). <see cref="IsPermanent"/>
/// says whether trying the same thing again can help without a change elsewhere (configuration, the image, the
/// registry's content): a caller retries the transient ones and reports the permanent ones. Messages never hold
/// a password or token.
/// </summary>
public class OciException : Exception
{
    public OciException(string message, bool permanent, Exception? inner = null) : base(message, inner) =>
        IsPermanent = permanent;

    public bool IsPermanent { get; }
}

/// <summary>An image reference that does not parse; the message names the part that is wrong.</summary>
public sealed class ImageReferenceException(string reference, string problem)
    : OciException($"image reference '{(reference.Length > 200 ? reference[..200] + "…" : reference)}': {problem}", permanent: true)
{
    public string Problem { get; } = problem;
}

/// <summary>
/// The registry (or its token service) answered with an error, or could not be reached. Permanent for what a
/// retry cannot fix (400, 401, 403, 404, 405), transient for the rest (429, 5xx, connection and TLS failures).
/// </summary>
public sealed class RegistryException(string message, HttpStatusCode? status, Exception? inner = null)
    : OciException(message, IsPermanentStatus(status), inner)
{
    /// <summary>The HTTP status, or null when no answer came.</summary>
    public HttpStatusCode? Status { get; } = status;

    private static bool IsPermanentStatus(HttpStatusCode? s) =>
        s is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed;
}

/// <summary>Content whose sha256 is not the digest it was asked for: a manifest, a blob or a bali file. Nothing of it is kept.</summary>
public sealed class DigestMismatchException(string what, Digest expected, Digest actual)
    : OciException($"{what}: expected {expected}, got content with digest {actual}; refused", permanent: true)
{
    public Digest Expected { get; } = expected;
    public Digest Actual { get; } = actual;
}

/// <summary>A manifest, index or image config that is malformed or unusable here (no linux/amd64, unknown media type, too large).</summary>
public sealed class ImageFormatException(string message) : OciException(message, permanent: true);

/// <summary>Why a bali image was refused.</summary>
public enum BaliSignatureProblem
{
    /// <summary>The file is not a (gzip'd) stream long enough to hold a trailer, or it cannot be decompressed.</summary>
    Malformed,
    /// <summary>No <c>iksig</c> trailer at the end of the uncompressed stream.</summary>
    Unsigned,
    /// <summary>A signature that verifies against none of the trusted keys (tampered, or signed by someone else).</summary>
    BadSignature,
    /// <summary>No trusted keys were given, so nothing can be accepted.</summary>
    NoTrustedKeys,
}

/// <summary>A bali image that is not signed by a trusted key. Always permanent: the same file will never verify.</summary>
public sealed class BaliSignatureException(string message, BaliSignatureProblem problem)
    : OciException(message, permanent: true)
{
    public BaliSignatureProblem Problem { get; } = problem;
}
