using System.Text.Json.Serialization;

namespace Kraud.Agent.ControlPlane;

/// <summary>Source-generated JSON for everything the agent writes to NATS (no reflection: AOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ResourceStatus))]
[JsonSerializable(typeof(HostRecord))]
[JsonSerializable(typeof(WorkToken))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
