namespace Kraud.Oci;

/// <summary>
/// How to reach one registry: its host[:port], a CA file, credentials, plain HTTP. A class, not a record, so that
/// no generated ToString can ever print the password.
/// </summary>
public sealed class RegistryOptions
{
    /// <summary>host[:port] as image references name it, e.g. <c>registry.example:5000</c>.</summary>
    public required string Host { get; init; }

    /// <summary>
    /// PEM file with one or more CA certificates trusted for this registry IN ADDITION to the system's roots
    /// (as docker's certs.d and containerd's hosts.toml do), so blob redirects to object storage and token services
    /// on public CAs keep working. The host name is always checked.
    /// </summary>
    public string? CaFile { get; init; }

    /// <summary>User for basic auth, or for the token service when the registry asks for a bearer token.</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>Speak HTTP instead of HTTPS (a registry on loopback, tests). Credentials then travel in clear.</summary>
    public bool PlainHttp { get; init; }

    /// <summary>Whether this entry is for the registry of <paramref name="registry"/> (host[:port]): the host
    /// compared without case, the port exactly (no port matches only no port).</summary>
    public bool Matches(string registry) => string.Equals(Host, registry, StringComparison.OrdinalIgnoreCase);

    /// <summary>The entry for an image's registry, or null when none is configured.</summary>
    public static RegistryOptions? Find(IEnumerable<RegistryOptions> registries, ImageReference image) =>
        registries.FirstOrDefault(r => r.Matches(image.Registry));

    public override string ToString() =>
        $"{Host}{(PlainHttp ? " (plain HTTP)" : "")}{(Username is null ? "" : $" as {Username}")}";

    internal Uri BaseUri => new($"{(PlainHttp ? "http" : "https")}://{Host}/");
}
