namespace Kraud.Testing;

/// <summary>How a test nats-server is configured (JetStream on, 127.0.0.1, a free port unless given).</summary>
public sealed record NatsServerOptions
{
    /// <summary>server_name (required in a cluster).</summary>
    public string? ServerName { get; init; }

    /// <summary>
    /// The client listener's address; 0.0.0.0 lets agents in other network namespaces connect (over a veth to this
    /// one). <see cref="NatsServer.Url"/> stays 127.0.0.1.
    /// </summary>
    public string ListenHost { get; init; } = "127.0.0.1";

    /// <summary>Client port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Enable JetStream with a temp store dir.</summary>
    public bool JetStream { get; init; } = true;

    /// <summary>User/password auth.</summary>
    public string? User { get; init; }

    /// <summary>Password for <see cref="User"/>.</summary>
    public string? Password { get; init; }

    /// <summary>Token auth.</summary>
    public string? Token { get; init; }

    /// <summary>TLS: server certificate (PEM).</summary>
    public string? TlsCertFile { get; init; }

    /// <summary>TLS: server key (PEM).</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>TLS: CA (PEM) the server verifies client certificates with; set with <see cref="TlsVerify"/>.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary>TLS: require and verify a client certificate (mutual TLS).</summary>
    public bool TlsVerify { get; init; }

    /// <summary>max_payload in bytes (server default 1 MiB).</summary>
    public long? MaxPayload { get; init; }

    /// <summary>Cluster name; set together with <see cref="ClusterPort"/> and <see cref="Routes"/>.</summary>
    public string? ClusterName { get; init; }

    /// <summary>Cluster (route) listen port.</summary>
    public int ClusterPort { get; init; }

    /// <summary>Route URLs to the other members.</summary>
    public IReadOnlyList<string> Routes { get; init; } = [];

    /// <summary>lame_duck_duration / grace, short for tests.</summary>
    public TimeSpan? LameDuckDuration { get; init; }

    /// <summary>Extra lines appended to the config file.</summary>
    public string? ExtraConfig { get; init; }
}
