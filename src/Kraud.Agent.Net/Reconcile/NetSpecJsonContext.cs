using System.Text.Json.Serialization;

namespace Kraud.Agent.Net.Reconcile;

/// <summary>Source-generated JSON for the Vpc and Overlay specs (camelCase, as in the contract).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip)]
[JsonSerializable(typeof(VpcSpec))]
[JsonSerializable(typeof(OverlaySpec))]
public sealed partial class NetSpecJsonContext : JsonSerializerContext;
