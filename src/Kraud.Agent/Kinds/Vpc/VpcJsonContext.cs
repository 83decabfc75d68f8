using System.Text.Json.Serialization;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// Source-generated JSON for the Vpc and Overlay specs (camelCase, as in the contract). Unknown fields and numbers
/// in strings are errors, as for Volume and Snapshot: a misspelt `listenport` must fail, not be silently ignored.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(VpcSpec))]
public sealed partial class VpcJsonContext : JsonSerializerContext;
