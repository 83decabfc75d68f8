using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Agent.Kinds;

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

    /// <summary>
    /// A delete's spec when it carries one (or the work engine put back the last applied one), else null: a delete
    /// must work from the id alone, for a resource this host never had or whose state directory was lost.
    /// </summary>
    public static T? ReadForDelete<T>(ResourceEnvelope envelope, JsonTypeInfo<T> type) where T : class =>
        HasSpec(envelope) ? Read(envelope, type) : null;

    /// <summary>False when the envelope has no spec or `"spec": null` (allowed for a delete).</summary>
    public static bool HasSpec(ResourceEnvelope envelope) => envelope.Spec.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);

    public static JsonNode? Node(ResourceEnvelope envelope) =>
        envelope.Spec.ValueKind == JsonValueKind.Undefined ? null : JsonNode.Parse(envelope.Spec.GetRawText());

    private static string FirstSentence(string m)
    {
        int i = m.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? m : m[..i];
    }
}
