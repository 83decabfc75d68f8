using System.Text.Json;

namespace Kraud.Oci;

/// <summary>A parsed, checked manifest or index: the parts an image pull needs, with clear errors for the rest.</summary>
internal sealed record ImageManifest(Digest Digest, string MediaType, ContentDescriptor? Config, IReadOnlyList<ContentDescriptor> Layers,
    IReadOnlyList<(ContentDescriptor Manifest, string Platform)> Manifests)
{
    public bool IsIndex => MediaTypes.IsIndex(MediaType);

    /// <summary>
    /// Parses manifest bytes. The media type is the registry's Content-Type when it names a manifest kind, else the
    /// document's own mediaType, else what its fields say (an OCI manifest may omit mediaType).
    /// </summary>
    public static ImageManifest Parse(Digest digest, string? contentType, byte[] content, string where)
    {
        ManifestDocument doc;
        try
        {
            doc = JsonSerializer.Deserialize(content, OciJsonContext.Default.ManifestDocument)
                  ?? throw new ImageFormatException($"{where}: manifest {digest} is JSON null");
        }
        catch (JsonException e)
        {
            throw new ImageFormatException($"{where}: manifest {digest} is not valid JSON: {e.Message}");
        }
        if (doc.SchemaVersion != 2)
            throw new ImageFormatException($"{where}: manifest {digest} has schemaVersion {doc.SchemaVersion}; only 2 is supported (schema 1 is long deprecated)");

        string? mediaType = MediaTypes.IsIndex(contentType) || MediaTypes.IsManifest(contentType) ? contentType : doc.MediaType;
        mediaType ??= doc.Manifests is not null ? MediaTypes.OciIndex : MediaTypes.OciManifest;
        if (doc.MediaType is not null && doc.MediaType != mediaType)
            throw new ImageFormatException($"{where}: manifest {digest} says it is {doc.MediaType} but was served as {mediaType}");

        if (MediaTypes.IsIndex(mediaType))
        {
            var children = (doc.Manifests ?? []).Select((m, i) => (Check(m, $"{where}: index {digest} manifests[{i}]"),
                $"{m.Platform?.Os ?? "?"}/{m.Platform?.Architecture ?? "?"}{(m.Platform?.Variant is { } v ? "/" + v : "")}")).ToList();
            return new ImageManifest(digest, mediaType, null, [], children);
        }
        if (!MediaTypes.IsManifest(mediaType))
            throw new ImageFormatException($"{where}: {digest} has media type {mediaType}, which is neither an image manifest nor an index");
        if (doc.Config is null) throw new ImageFormatException($"{where}: manifest {digest} has no config");
        var config = Check(doc.Config, $"{where}: manifest {digest} config");
        var layers = new List<ContentDescriptor>();
        foreach ((DescriptorJson l, int i) in (doc.Layers ?? []).Select((l, i) => (l, i)))
        {
            string at = $"{where}: manifest {digest} layers[{i}]";
            if (l.Urls is { Length: > 0 }) throw new ImageFormatException($"{at} is a foreign layer (fetched from {l.Urls[0]}), which is not supported");
            var layer = Check(l, at);
            if (!MediaTypes.IsLayer(layer.MediaType)) throw new ImageFormatException($"{at} has media type {layer.MediaType}, not a layer the guest can unpack");
            layers.Add(layer);
        }
        return new ImageManifest(digest, mediaType, config, layers, []);
    }

    private static ContentDescriptor Check(DescriptorJson d, string at)
    {
        if (string.IsNullOrEmpty(d.MediaType)) throw new ImageFormatException($"{at} has no mediaType");
        if (!Oci.Digest.TryParse(d.Digest, out var digest, out string? error)) throw new ImageFormatException($"{at}: {error}");
        if (d.Size < 0) throw new ImageFormatException($"{at} has negative size {d.Size}");
        return new ContentDescriptor(d.MediaType, digest, d.Size);
    }
}
