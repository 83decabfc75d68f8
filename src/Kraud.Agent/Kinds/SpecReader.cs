using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Agent.Kinds;

/// <summary>Binds an envelope's spec to a library's spec type; any JSON problem is permanent and names the field.</summary>
internal static class SpecReader
{
    public static T Read<T>(ResourceEnvelope envelope, JsonTypeInfo<T> type) where T : class => Read(envelope.Spec, type);

    /// <summary>Binds a spec element; "spec: required" when it is no JSON object, else the first bad field named (`spec.sizeBytes: ...`).</summary>
    public static T Read<T>(JsonElement spec, JsonTypeInfo<T> type) where T : class
    {
        if (spec.ValueKind != JsonValueKind.Object) throw PermanentReconcileException.At("spec", "required (a JSON object)");
        try
        {
            return spec.Deserialize(type) ?? throw PermanentReconcileException.At("spec", "required (a JSON object)");
        }
        catch (JsonException e)
        {
            string path = e.Path is { Length: > 1 } p ? "spec" + p.TrimStart('$') : "spec";
            throw PermanentReconcileException.At(path, FirstSentence(e.Message), e);
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
