namespace Kraud.Agent.Kinds;

// The one vocabulary every kind speaks to the work engine: permanent (status Failed, the token is terminated, the
// same generation is never tried again) or anything else, transient (status Failed with the attempt, -NAK, retried
// with backoff). Host libraries throw their own exceptions (ZfsException, NetlinkException, ...); a kind decides
// which of them mean "never" and turns those into a PermanentReconcileException naming the field.

/// <summary>A failure retrying cannot fix: bad input, or an object that is not the agent's. <see cref="Field"/> names the spec field at fault, when there is one.</summary>
public class PermanentReconcileException(string message, string? field = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Field { get; } = field;

    /// <summary>"spec.peers[1].publicKey: 'x' is not a base64 WireGuard key": the field, then what is wrong with it.</summary>
    public static PermanentReconcileException At(string field, string problem, Exception? inner = null) => new($"{field}: {problem}", field, inner);
}

/// <summary>
/// An object the agent would change or remove does not carry its mark (a link's alias, a route's protocol, a
/// dataset's kraud:id) or is not of the kind the agent makes: it is someone else's, so it is left as it is.
/// Permanent, since retrying cannot make it the agent's; the message names the object.
/// </summary>
public sealed class ForeignObjectException(string message, string? field = null) : PermanentReconcileException(message, field);

/// <summary>A refusal that ends by itself (a volume still in use, a dependency not there yet): retried with backoff, status Failed meanwhile.</summary>
public class TransientReconcileException(string message, Exception? inner = null) : Exception(message, inner);
