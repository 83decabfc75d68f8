namespace Kraud.Agent.Kinds;

/// <summary>Reconcilers by kind. A kind with none fails permanently with a message saying so.</summary>
public sealed class ReconcilerRegistry(IEnumerable<IReconciler> reconcilers)
{
    private readonly Dictionary<string, IReconciler> _byKind = reconcilers.ToDictionary(r => r.Kind, StringComparer.Ordinal);

    public IReconciler Get(ResourceKey key) =>
        ResourceKinds.FromSubjectToken(key.KindToken) is { } kind && _byKind.TryGetValue(kind, out var r)
            ? r
            : throw new PermanentReconcileException(ResourceKinds.FromSubjectToken(key.KindToken) is null
                ? $"kind: \"{key.KindToken}\" is not a known kind (known: {string.Join(", ", _byKind.Keys.Order())})"
                : $"kind: {key.Kind} is not served by this agent version {AgentVersion.Value} (served: {string.Join(", ", _byKind.Keys.Order())})");

    public IReadOnlyCollection<string> Kinds => _byKind.Keys;
}
