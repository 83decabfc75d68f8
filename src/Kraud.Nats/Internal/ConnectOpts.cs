using System.Text.Json.Serialization;

namespace Kraud.Nats.Internal;

/// <summary>The CONNECT body. verbose/pedantic are always sent as false (the server default is true).</summary>
internal sealed class ConnectOpts
{
    [JsonPropertyName("verbose")] public bool Verbose { get; init; }
    [JsonPropertyName("pedantic")] public bool Pedantic { get; init; }
    [JsonPropertyName("echo")] public bool Echo { get; init; } = true;
    [JsonPropertyName("tls_required")] public bool TlsRequired { get; init; }
    [JsonPropertyName("headers")] public bool Headers { get; init; } = true;
    [JsonPropertyName("no_responders")] public bool NoResponders { get; init; } = true;
    [JsonPropertyName("protocol")] public int Protocol { get; init; } = 1;
    [JsonPropertyName("lang")] public string Lang { get; init; } = ".NET";
    [JsonPropertyName("version")] public string Version { get; init; } = "0.1.0";
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("auth_token")] public string? AuthToken { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
    [JsonPropertyName("pass")] public string? Pass { get; init; }
}
