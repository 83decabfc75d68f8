using System.Text.Json.Serialization;

namespace Kraud.Agent.Kinds.Overlay;

/// <summary>Source-generated JSON for the Overlay spec: camelCase as in the contract, and strict like every spec: an unknown field or a number in a string fails.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(OverlaySpec))]
public sealed partial class OverlayJsonContext : JsonSerializerContext;
