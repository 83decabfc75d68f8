using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Kraud.Agent.Work;

namespace Kraud.Agent.Reconcilers;

/// <summary>Binds an envelope's spec to a library's spec type; any JSON problem is permanent and names the field.</summary>
internal static class SpecReader
{
    public static T Read<T>(ResourceEnvelope envelope, JsonTypeInfo<T> type) where T : class
    {
        if (envelope.Spec.ValueKind != JsonValueKind.Object) throw new PermanentReconcileException("spec: required");
        try
        {
            return envelope.Spec.Deserialize(type) ?? throw new PermanentReconcileException("spec: required");
        }
        catch (JsonException e)
        {
            string path = e.Path is { Length: > 1 } p ? "spec" + p.TrimStart('$') : "spec";
            throw new PermanentReconcileException($"{path}: {FirstSentence(e.Message)}");
        }
    }

    public static JsonNode? Node(ResourceEnvelope envelope) =>
        envelope.Spec.ValueKind == JsonValueKind.Undefined ? null : JsonNode.Parse(envelope.Spec.GetRawText());

    private static string FirstSentence(string m)
    {
        int i = m.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? m : m[..i];
    }
}
