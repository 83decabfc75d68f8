namespace Kraud.Nats;

/// <summary>When to use TLS.</summary>
public enum TlsMode
{
    /// <summary>TLS for tls:// URLs or when the server's INFO says tls_required.</summary>
    Auto,
    /// <summary>Always TLS; fail against a server that does not offer it.</summary>
    Require,
    /// <summary>Never TLS.</summary>
    Disable,
}

/// <summary>TLS settings.</summary>
public sealed record NatsTlsOpts
{
    /// <summary>Automatic mode, system trust store.</summary>
    public static readonly NatsTlsOpts Default = new();

    /// <summary>When TLS is used.</summary>
    public TlsMode Mode { get; init; } = TlsMode.Auto;

    /// <summary>PEM file with the CA certificate(s) that must sign the server certificate; null uses the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate for mutual TLS (with <see cref="KeyFile"/>).</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM private key of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Accept any server certificate (tests only).</summary>
    public bool InsecureSkipVerify { get; init; }
}
