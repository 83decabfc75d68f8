using System.Text.Json.Serialization;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>Source-generated JSON for the specs: camelCase as in the contract; unknown fields are an error (a typo is not silently ignored).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(VolumeSpec))]
public sealed partial class VolumeJsonContext : JsonSerializerContext;
