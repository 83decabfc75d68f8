using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Agent.Kinds;

/// <summary>
/// The payload on KRAUD_DESIRED (contract section 2), validated against its subject. Its spec stays the parsed
/// JSON element until the kind reads it once, straight into its source-generated spec type (<see cref="ReadSpec{T}(JsonTypeInfo{T})"/>).
/// </summary>
public sealed record ResourceEnvelope(string ApiVersion, string Kind, string Id, long Generation, bool Deleted, JsonElement Spec)
{
    public const string V1 = "kraud.cloud/v1";
    public const int MaxBytes = 256 * 1024;

    /// <summary>The spec as <typeparamref name="T"/>; any problem is permanent and names the field (`spec.sizeBytes: ...`).</summary>
    public T ReadSpec<T>(JsonTypeInfo<T> type) where T : class => ReadSpec(Spec, type);

    /// <summary>
    /// A delete's spec when it carries one (or the work engine put back the last applied one), else null: a delete
    /// must work from the id alone, for a resource this host never had or whose state directory was lost.
    /// </summary>
    public T? ReadSpecIfAny<T>(JsonTypeInfo<T> type) where T : class =>
        Spec.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null : ReadSpec(type);

    /// <summary>Binds a spec element; "spec: required" when it is no JSON object, else the first bad field named.</summary>
    public static T ReadSpec<T>(JsonElement spec, JsonTypeInfo<T> type) where T : class
    {
        if (spec.ValueKind != JsonValueKind.Object) throw PermanentReconcileException.At("spec", "required");
        try
        {
            return spec.Deserialize(type) ?? throw PermanentReconcileException.At("spec", "required");
        }
        catch (JsonException e)
        {
            string path = e.Path is { Length: > 1 } p ? "spec" + p.TrimStart('$') : "spec";
            // System.Text.Json's first sentence says what is wrong; the rest repeats the path and the position.
            int end = e.Message.IndexOf(". ", StringComparison.Ordinal);
            throw PermanentReconcileException.At(path, end < 0 ? e.Message : e.Message[..end], e);
        }
    }
}
