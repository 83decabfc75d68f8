using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Kraud.Oci.Tests.Fixtures;

/// <summary>
/// Writes an OCI image layout by hand (image-spec image-layout.md: oci-layout, index.json, blobs/sha256), for skopeo
/// to copy into a registry: tar(.gz) layers of given files or random bytes, configs, manifests and indexes.
/// </summary>
public sealed class OciLayout
{
    private readonly List<JsonObject> _refs = [];

    public OciLayout(string dir)
    {
        Dir = dir;
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(dir, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
    }

    public string Dir { get; }

    public ContentDescriptor AddBlob(string mediaType, byte[] content)
    {
        var digest = Digest.Of(content);
        File.WriteAllBytes(BlobPath(digest), content);
        return new ContentDescriptor(mediaType, digest, content.Length);
    }

    public string BlobPath(Digest d) => Path.Combine(Dir, "blobs", "sha256", d.Hex);

    /// <summary>A gzip'd tar layer holding the given files.</summary>
    public ContentDescriptor AddLayer(params (string Name, string Content)[] files)
    {
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                var e = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
                w.WriteEntry(e);
            }
        }
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) tar.WriteTo(z);
        return AddBlob("application/vnd.oci.image.layer.v1.tar+gzip", gz.ToArray());
    }

    /// <summary>An uncompressed tar layer of one file of random (seeded, incompressible) bytes, streamed to disk.</summary>
    public ContentDescriptor AddRandomLayer(int seed, long bytes)
    {
        string temp = Path.Combine(Dir, $"layer-{seed}.tmp");
        using (var f = File.Create(temp))
        using (var w = new TarWriter(f, TarEntryFormat.Pax, leaveOpen: true))
        {
            var e = new PaxTarEntry(TarEntryType.RegularFile, $"random-{seed}.bin") { DataStream = new RandomStream(seed, bytes) };
            w.WriteEntry(e);
        }
        Digest digest;
        using (var f = File.OpenRead(temp)) digest = Digest.FromHex(Convert.ToHexStringLower(SHA256.HashData(f)));
        long size = new FileInfo(temp).Length;
        File.Move(temp, BlobPath(digest), overwrite: true);
        return new ContentDescriptor("application/vnd.oci.image.layer.v1.tar", digest, size);
    }

    /// <summary>An image: config for os/arch with cmd, and a manifest listing the layers.</summary>
    public ContentDescriptor AddImage(string os, string arch, IReadOnlyList<ContentDescriptor> layers, params string[] cmd)
    {
        var config = new JsonObject
        {
            ["architecture"] = arch,
            ["os"] = os,
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray([.. cmd.Select(c => JsonValue.Create(c))]), ["Env"] = new JsonArray("PATH=/bin") },
            // skopeo does not check these; one per layer is what the image spec requires and what we check.
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. layers.Select(l => JsonValue.Create(l.Digest.ToString()))]) },
        };
        var cfg = AddBlob("application/vnd.oci.image.config.v1+json", Encoding.UTF8.GetBytes(config.ToJsonString()));
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["config"] = Descriptor(cfg),
            ["layers"] = new JsonArray([.. layers.Select(l => Descriptor(l))]),
        };
        return AddBlob(MediaTypes.OciManifest, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    }

    /// <summary>An index over images for the given platforms.</summary>
    public ContentDescriptor AddIndex(params (ContentDescriptor Manifest, string Os, string Arch)[] images)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray([.. images.Select(i =>
            {
                var d = Descriptor(i.Manifest);
                d["platform"] = new JsonObject { ["architecture"] = i.Arch, ["os"] = i.Os };
                return (JsonNode)d;
            })]),
        };
        return AddBlob(MediaTypes.OciIndex, Encoding.UTF8.GetBytes(index.ToJsonString()));
    }

    /// <summary>Names a manifest or index in index.json, so that <c>oci:DIR:tag</c> finds it.</summary>
    public void Tag(string tag, ContentDescriptor target)
    {
        var d = Descriptor(target);
        d["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag };
        _refs.Add(d);
        var index = new JsonObject { ["schemaVersion"] = 2, ["manifests"] = new JsonArray([.. _refs.Select(r => r.DeepClone())]) };
        File.WriteAllText(Path.Combine(Dir, "index.json"), index.ToJsonString());
    }

    private static JsonObject Descriptor(ContentDescriptor d) =>
        new() { ["mediaType"] = d.MediaType, ["digest"] = d.Digest.ToString(), ["size"] = d.Size };

    /// <summary>Seeded pseudo-random bytes without holding them in memory.</summary>
    private sealed class RandomStream(int seed, long length) : Stream
    {
        private readonly Random _random = new(seed);
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - _position);
            _random.NextBytes(buffer.AsSpan(offset, n));
            _position += n;
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
