using System.Globalization;
using System.Text.RegularExpressions;

namespace Kraud.Oci;

/// <summary>
/// An image reference <c>registry[:port]/repo/path[:tag][@sha256:hex]</c> (the grammar of distribution/reference).
/// The registry is always explicit: a host agent must not quietly turn <c>library/nginx</c> into Docker Hub.
/// Without tag and digest the tag is <c>latest</c>; with a digest, the digest is what is fetched and the tag
/// only informs.
/// </summary>
public sealed partial record ImageReference
{
    private const int MaxNameLength = 255;

    private ImageReference(string registry, string repository, string? tag, Digest? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>host[:port] as written (IPv6 in brackets), e.g. <c>registry.example:5000</c>.</summary>
    public string Registry { get; }

    /// <summary>The repository path within the registry, e.g. <c>library/mariadb</c>.</summary>
    public string Repository { get; }

    public string? Tag { get; }

    public Digest? Digest { get; }

    /// <summary>What the registry is asked for: the digest when pinned, else the tag.</summary>
    public string ManifestReference => Digest?.ToString() ?? Tag!;

    public override string ToString() =>
        $"{Registry}/{Repository}{(Tag is null ? "" : ":" + Tag)}{(Digest is { } d ? "@" + d : "")}";

    /// <summary>The same image pinned to a digest (what a tag resolved to).</summary>
    public ImageReference WithDigest(Digest digest) => new(Registry, Repository, Tag, digest);

    public static ImageReference Parse(string text) =>
        TryParse(text, out var r, out string? error) ? r : throw new ImageReferenceException(text, error!);

    public static bool TryParse(string? text, out ImageReference reference, out string? error)
    {
        reference = null!;
        error = Check(text, out string registry, out string repository, out string? tag, out Digest? digest);
        if (error is not null) return false;
        reference = new ImageReference(registry, repository, tag, digest);
        return true;
    }

    private static string? Check(string? text, out string registry, out string repository, out string? tag, out Digest? digest)
    {
        registry = repository = "";
        tag = null;
        digest = null;
        if (string.IsNullOrWhiteSpace(text)) return "the reference is empty";
        if (text.Trim() != text) return "the reference has leading or trailing white space";

        string rest = text;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(rest[(at + 1)..], out var d, out string? digestError)) return digestError;
            digest = d;
            rest = rest[..at];
        }

        int slash = rest.IndexOf('/');
        if (slash < 0)
            return $"'{rest}' names no registry: write it as host[:port]/repository[:tag]";
        registry = rest[..slash];
        if (!LooksLikeRegistry(registry))
            return $"'{registry}' is not a registry host (no '.', ':' or 'localhost'); write host[:port]/repository, " +
                   "an implicit docker.io is not assumed";
        if (CheckRegistry(registry) is { } registryError) return registryError;

        string path = rest[(slash + 1)..];
        int colon = path.LastIndexOf(':');
        if (colon >= 0)
        {
            tag = path[(colon + 1)..];
            path = path[..colon];
            if (!TagPattern().IsMatch(tag))
                return $"tag '{tag}' is invalid: up to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'";
        }
        if (path.Length == 0) return "the repository path is empty";
        foreach (string component in path.Split('/'))
        {
            if (!PathComponentPattern().IsMatch(component))
                return component.Length == 0
                    ? $"repository '{path}' has an empty path component"
                    : $"repository path component '{component}' is invalid: lower-case letters and digits, " +
                      "separated by '.', '_', '__' or dashes";
        }
        if (registry.Length + 1 + path.Length > MaxNameLength)
            return $"the name {registry}/{path} is longer than {MaxNameLength} characters";
        repository = path;
        if (tag is null && digest is null) tag = "latest";
        return null;
    }

    // The rule docker and containerd use to tell a registry from a first path component.
    private static bool LooksLikeRegistry(string first) =>
        first.Contains('.') || first.Contains(':') || first == "localhost" || first.StartsWith('[');

    private static string? CheckRegistry(string registry)
    {
        string host = registry, port = "";
        if (registry.StartsWith('['))
        {
            int close = registry.IndexOf(']');
            if (close < 0) return $"registry '{registry}': '[' without ']'";
            host = registry[1..close];
            if (!System.Net.IPAddress.TryParse(host, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                return $"registry '{registry}': '{host}' is not an IPv6 address";
            string after = registry[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':') return $"registry '{registry}': expected ':port' after ']'";
                port = after[1..];
            }
        }
        else
        {
            int colon = registry.IndexOf(':');
            if (colon >= 0) { host = registry[..colon]; port = registry[(colon + 1)..]; }
            if (!HostPattern().IsMatch(host)) return $"registry host '{host}' is not a valid host name or IPv4 address";
        }
        if (registry.Contains(':') && !registry.EndsWith(']'))
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
                return $"registry '{registry}': port '{port}' is not a number from 1 to 65535";
        }
        return null;
    }

    [GeneratedRegex(@"^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*\z")]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\z")]
    private static partial Regex PathComponentPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z")]
    private static partial Regex TagPattern();
}
