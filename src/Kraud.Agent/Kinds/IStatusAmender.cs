using System.Text.Json.Nodes;

namespace Kraud.Agent.Kinds;

/// <summary>What an amend did; anything but <see cref="Amended"/> left the stored status as it was.</summary>
public enum AmendOutcome { Amended, Unchanged, NoStatus, OtherGeneration, NotReady, NotConnected, KeptChanging }

/// <summary>
/// Changes the `observed` of a resource's stored status outside a reconcile (the snapshot timer took a snapshot):
/// same generation, same phase. It never writes over another generation's status: compare-and-set on the
/// revision it read, and on a conflict it reads again and decides again.
/// </summary>
public interface IStatusAmender
{
    /// <param name="generation">The generation the new observation belongs to; a stored status of another generation is left alone.</param>
    /// <param name="change">Edits a copy of the stored observed; returns false when it has nothing to change.</param>
    Task<AmendOutcome> AmendObservedAsync(string kind, string id, long generation, Func<JsonObject, bool> change, CancellationToken ct);
}
