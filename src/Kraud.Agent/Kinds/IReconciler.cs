using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds;

/// <summary>
/// Makes the host match one kind of resource. Called with the latest envelope while this agent holds the
/// resource's work token; must be idempotent and must stop promptly when the token fires (the hold is lost).
/// Throw <see cref="PermanentReconcileException"/> for input that can never succeed; anything else is retried
/// (<see cref="TransientReconcileException"/> says so on purpose).
/// </summary>
public interface IReconciler
{
    /// <summary>The canonical kind, e.g. "Volume".</summary>
    string Kind { get; }

    /// <summary>Brings the resource to its spec (or removes it when <c>envelope.Deleted</c>); returns what the host has.</summary>
    Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken cancellationToken);
}

/// <summary>What a reconcile may use besides its envelope.</summary>
public sealed record ReconcileContext(string Host, string StateDir, int Attempt, ILogger Log)
{
    /// <summary>
    /// Where a long reconcile reports what it has so far (a pull's bytes): the engine writes it as the observed of the
    /// Progressing status, at most once a second. Null outside the engine.
    /// </summary>
    public IProgress<System.Text.Json.Nodes.JsonObject>? Progress { get; init; }
}
