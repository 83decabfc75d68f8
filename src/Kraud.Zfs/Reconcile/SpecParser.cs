using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Kraud.Zfs.Reconcile;

/// <summary>Reads a spec from the envelope; malformed JSON becomes a permanent failure naming the JSON path.</summary>
public static class SpecParser
{
    public static VolumeSpec ParseVolume(JsonNode? spec) => Parse(spec, SpecJsonContext.Default.VolumeSpec, "Volume");
    public static SnapshotSpec ParseSnapshot(JsonNode? spec) => Parse(spec, SpecJsonContext.Default.SnapshotSpec, "Snapshot");
    public static VolumeSpec ParseVolume(string json) => ParseVolume(JsonNode.Parse(json));
    public static SnapshotSpec ParseSnapshot(string json) => ParseSnapshot(JsonNode.Parse(json));

    private static T Parse<T>(JsonNode? spec, JsonTypeInfo<T> type, string kind)
    {
        if (spec is not JsonObject) throw new PermanentReconcileException($"spec: a {kind} spec must be a JSON object", "spec");
        try
        {
            return spec.Deserialize(type) ?? throw new PermanentReconcileException("spec: empty", "spec");
        }
        catch (JsonException e)
        {
            string field = e.Path is { Length: > 1 } p ? "spec" + p[1..] : "spec";
            throw new PermanentReconcileException($"{field}: {e.Message}", field, e);
        }
    }
}
