namespace Kraud.Zfs.Reconcile;

/// <summary>
/// A failure retrying cannot fix (bad spec, bad name, missing pool, a refused delete): the daemon reports
/// status Failed and terminates the token (+TERM). Every other exception is transient (-NAK, retried).
/// <see cref="Field"/> names the spec field at fault, when there is one.
/// </summary>
public class PermanentReconcileException(string message, string? field = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Field { get; } = field;
}
