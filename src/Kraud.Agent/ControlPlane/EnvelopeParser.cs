using System.Text.Json;
using Kraud.Agent.Kinds;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Reads and checks an envelope. Every problem is a <see cref="PermanentReconcileException"/> whose message
/// names the field, so the status tells the control plane exactly what to fix.
/// </summary>
public static class EnvelopeParser
{
    public static ResourceEnvelope Parse(ReadOnlySpan<byte> payload, ResourceKey key)
    {
        if (!ResourceKey.IdRule().IsMatch(key.Id))
            throw new PermanentReconcileException($"id: the subject's id \"{key.Id}\" must match [a-z0-9][a-z0-9-]{{0,62}}");
        if (payload.Length > ResourceEnvelope.MaxBytes)
            throw new PermanentReconcileException($"envelope is {payload.Length} bytes, over the limit of {ResourceEnvelope.MaxBytes} (256 KiB)");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new PermanentReconcileException($"envelope is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        if (root.ValueKind != JsonValueKind.Object) throw new PermanentReconcileException("envelope must be a JSON object");

        string apiVersion = String(root, "apiVersion");
        if (apiVersion != ResourceEnvelope.V1)
            throw new PermanentReconcileException($"apiVersion: \"{apiVersion}\" is not supported (expected \"{ResourceEnvelope.V1}\")");
        string kind = String(root, "kind");
        if (!string.Equals(kind, key.Kind, StringComparison.Ordinal))
            throw new PermanentReconcileException($"kind: \"{kind}\" does not match the subject's kind \"{key.KindToken}\""
                + (ResourceKinds.FromSubjectToken(key.KindToken) is { } expected ? $" (expected \"{expected}\")" : ""));
        string id = String(root, "id");
        if (id != key.Id) throw new PermanentReconcileException($"id: \"{id}\" does not match the subject's id \"{key.Id}\"");
        if (!root.TryGetProperty("generation", out var gen) || gen.ValueKind != JsonValueKind.Number || !gen.TryGetInt64(out long generation) || generation < 1)
            throw new PermanentReconcileException("generation: must be a positive integer");
        bool deleted = false;
        if (root.TryGetProperty("deleted", out var del))
        {
            if (del.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw new PermanentReconcileException("deleted: must be true or false");
            deleted = del.GetBoolean();
        }
        JsonElement spec = default;
        if (root.TryGetProperty("spec", out var s))
        {
            if (s.ValueKind != JsonValueKind.Object) throw new PermanentReconcileException("spec: must be an object");
            spec = s;
        }
        else if (!deleted) throw new PermanentReconcileException("spec: required");
        // Other top-level fields are ignored: the contract's failures are about these fields and the spec, and a
        // control plane that adds, say, labels must not fail every resource on older agents. Specs stay strict.
        return new ResourceEnvelope(apiVersion, kind, id, generation, deleted, spec);
    }

    /// <summary>
    /// The envelope's generation when it can be read at all (for the status of an envelope that failed to
    /// parse, so that status is not dropped as older than the one stored); null otherwise.
    /// </summary>
    public static long? TryReadGeneration(ReadOnlySpan<byte> payload, bool complete = true)
    {
        if (payload.Length > ResourceEnvelope.MaxBytes) return null;
        try
        {
            // Incomplete (the head of an oversized envelope): read as far as the bytes go.
            var reader = new Utf8JsonReader(payload, isFinalBlock: complete, state: default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isGeneration = reader.ValueTextEquals("generation"u8);
                if (!reader.Read()) return null;
                if (isGeneration) return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long g) && g > 0 ? g : null;
                if (!reader.TrySkip()) return null;
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    private static string String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new PermanentReconcileException($"{name}: required string");
}
