using System.Text.Json.Serialization;

namespace Kraud.Nats.Internal;

/// <summary>Source-generated JSON for the core protocol (INFO, CONNECT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NatsServerInfo))]
[JsonSerializable(typeof(ConnectOpts))]
internal sealed partial class CoreJsonContext : JsonSerializerContext;
