using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Kraud.Agent.Cli;

[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class JsonContext : JsonSerializerContext;
