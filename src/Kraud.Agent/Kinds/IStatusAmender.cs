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

    /// <summary>
    /// As <see cref="AmendObservedAsync"/>, and the phase becomes <paramref name="phase"/> (Ready or Failed) with
    /// <paramref name="message"/>: for a workload that went down or came back between reconciles (a pod's VM). Only a
    /// Ready or Failed status of <paramref name="generation"/> is changed; a Progressing one belongs to a running reconcile.
    /// </summary>
    Task<AmendOutcome> AmendPhaseAsync(string kind, string id, long generation, string phase, string message, Func<JsonObject, bool> change,
        CancellationToken ct) => AmendObservedAsync(kind, id, generation, change, ct);
}
