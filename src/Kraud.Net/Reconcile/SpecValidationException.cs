namespace Kraud.Net.Reconcile;

/// <summary>A spec that can never be realized; <see cref="Field"/> is the JSON path of the bad field (e.g. "peers[1].publicKey").</summary>
public sealed class SpecValidationException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}
