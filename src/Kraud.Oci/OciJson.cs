using System.Text.Json.Serialization;

namespace Kraud.Oci;

/// <summary>The OCI and Docker media types this library reads (image-spec, distribution-spec, Docker v2 schema 2).</summary>
public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    // The Accept header of a manifest request, most specific first; a registry that knows none answers with its own.
    internal const string ManifestAccept = OciIndex + ", " + OciManifest + ", " + DockerManifestList + ", " + DockerManifest;

    internal static bool IsIndex(string? t) => t is OciIndex or DockerManifestList;
    internal static bool IsManifest(string? t) => t is OciManifest or DockerManifest;

    // Layers the guest can unpack: OCI tar, tar+gzip, tar+zstd and Docker's gzip'd tar. Non-distributable
    // ("foreign") layers live outside the registry and are refused.
    internal static bool IsLayer(string? t) =>
        t is DockerLayerGzip or "application/vnd.oci.image.layer.v1.tar" or "application/vnd.oci.image.layer.v1.tar+gzip"
            or "application/vnd.oci.image.layer.v1.tar+zstd";
}

/// <summary>A content descriptor as written in a manifest or index (checked into <see cref="ContentDescriptor"/> before use).</summary>
internal sealed class DescriptorJson
{
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; }
    [JsonPropertyName("digest")] public string? Digest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("urls")] public string[]? Urls { get; init; }
    [JsonPropertyName("platform")] public PlatformJson? Platform { get; init; }
}

internal sealed class PlatformJson
{
    [JsonPropertyName("architecture")] public string? Architecture { get; init; }
    [JsonPropertyName("os")] public string? Os { get; init; }
    [JsonPropertyName("variant")] public string? Variant { get; init; }
}

/// <summary>A blob or manifest an image is made of: its media type, digest and size in bytes.</summary>
public sealed record ContentDescriptor(string MediaType, Digest Digest, long Size);

/// <summary>An image manifest or an index (manifest list): one shape for both, told apart by media type.</summary>
internal sealed class ManifestDocument
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; }
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; }
    [JsonPropertyName("config")] public DescriptorJson? Config { get; init; }
    [JsonPropertyName("layers")] public DescriptorJson[]? Layers { get; init; }
    [JsonPropertyName("manifests")] public DescriptorJson[]? Manifests { get; init; }
}

/// <summary>The image configuration (image-spec config.md): platform, the default process, the layers' diff ids.</summary>
public sealed record ImageConfig
{
    [JsonPropertyName("architecture")] public string? Architecture { get; init; }
    [JsonPropertyName("os")] public string? Os { get; init; }
    [JsonPropertyName("config")] public ProcessDefaults? Config { get; init; }
    [JsonPropertyName("rootfs")] public RootFs? RootFs { get; init; }
}

/// <summary>The image's defaults for its process (the config's <c>config</c> object).</summary>
public sealed record ProcessDefaults
{
    [JsonPropertyName("User")] public string? User { get; init; }
    [JsonPropertyName("Env")] public string[]? Env { get; init; }
    [JsonPropertyName("Entrypoint")] public string[]? Entrypoint { get; init; }
    [JsonPropertyName("Cmd")] public string[]? Cmd { get; init; }
    [JsonPropertyName("WorkingDir")] public string? WorkingDir { get; init; }
}

public sealed record RootFs
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("diff_ids")] public string[]? DiffIds { get; init; }
}

/// <summary>A token service's answer (distribution's token spec: <c>token</c>, or OAuth2's <c>access_token</c>).</summary>
internal sealed class TokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("expires_in")] public int? ExpiresIn { get; init; }
}

/// <summary>The registry's error body: <c>{"errors":[{"code":…,"message":…}]}</c>.</summary>
internal sealed class RegistryErrorBody
{
    [JsonPropertyName("errors")] public RegistryError[]? Errors { get; init; }
}

internal sealed class RegistryError
{
    [JsonPropertyName("code")] public string? Code { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

/// <summary>The store's own state file: which owner uses which blobs, and when each blob was last in use.</summary>
internal sealed class StoreState
{
    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    [JsonPropertyName("owners")] public Dictionary<string, List<string>> Owners { get; set; } = new(StringComparer.Ordinal);
    [JsonPropertyName("lastUsed")] public Dictionary<string, long> LastUsedUnixMs { get; set; } = new(StringComparer.Ordinal);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ManifestDocument))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(RegistryErrorBody))]
[JsonSerializable(typeof(StoreState))]
internal sealed partial class OciJsonContext : JsonSerializerContext;
