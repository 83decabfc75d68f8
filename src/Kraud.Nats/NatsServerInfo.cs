using System.Text.Json.Serialization;

namespace Kraud.Nats;

/// <summary>The server's INFO (the fields a client uses).</summary>
public sealed record NatsServerInfo
{
    /// <summary>Server id.</summary>
    [JsonPropertyName("server_id")] public string ServerId { get; init; } = "";
    /// <summary>Server name (server_name in the config).</summary>
    [JsonPropertyName("server_name")] public string ServerName { get; init; } = "";
    /// <summary>Server version, e.g. 2.9.10.</summary>
    [JsonPropertyName("version")] public string Version { get; init; } = "";
    /// <summary>Protocol version.</summary>
    [JsonPropertyName("proto")] public int ProtocolVersion { get; init; }
    /// <summary>Host the server listens on.</summary>
    [JsonPropertyName("host")] public string Host { get; init; } = "";
    /// <summary>Client port.</summary>
    [JsonPropertyName("port")] public int Port { get; init; }
    /// <summary>Server supports headers.</summary>
    [JsonPropertyName("headers")] public bool HeadersSupported { get; init; }
    /// <summary>Auth is required.</summary>
    [JsonPropertyName("auth_required")] public bool AuthRequired { get; init; }
    /// <summary>TLS is required.</summary>
    [JsonPropertyName("tls_required")] public bool TlsRequired { get; init; }
    /// <summary>TLS is available.</summary>
    [JsonPropertyName("tls_available")] public bool TlsAvailable { get; init; }
    /// <summary>Largest header+payload of one message.</summary>
    [JsonPropertyName("max_payload")] public long MaxPayload { get; init; }
    /// <summary>JetStream enabled (a hint).</summary>
    [JsonPropertyName("jetstream")] public bool JetStreamAvailable { get; init; }
    /// <summary>Our client id on the server.</summary>
    [JsonPropertyName("client_id")] public ulong ClientId { get; init; }
    /// <summary>Our address as the server sees it.</summary>
    [JsonPropertyName("client_ip")] public string? ClientIp { get; init; }
    /// <summary>Nonce for nkey/JWT auth.</summary>
    [JsonPropertyName("nonce")] public string? Nonce { get; init; }
    /// <summary>Cluster name.</summary>
    [JsonPropertyName("cluster")] public string? Cluster { get; init; }
    /// <summary>Other servers of the cluster clients may use.</summary>
    [JsonPropertyName("connect_urls")] public string[]? ClientConnectUrls { get; init; }
    /// <summary>Lame duck mode: the server is about to shut down.</summary>
    [JsonPropertyName("ldm")] public bool LameDuckMode { get; init; }
}
