using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Kraud.Oci.Tests.Fixtures;

/// <summary>
/// Builds bali images as `bali build` does (main.go): a tar, SHA-512 over it, Ed25519ph with a context, then
/// 8 zero bytes, "iksig\0\0\0" and the signature appended inside the gzip. A real Ed25519 key (BouncyCastle).
/// </summary>
public sealed class BaliSigner
{
    private readonly byte[] _seed;

    public BaliSigner(byte[]? seed = null)
    {
        _seed = seed ?? RandomNumberGenerator.GetBytes(32);
        byte[] pk = new byte[32];
        Ed25519.GeneratePublicKey(_seed, 0, pk, 0);
        Identity = BaliIdentity.FromPublicKey(pk);
    }

    public BaliIdentity Identity { get; }

    public static byte[] Tar(params (string Name, string Content)[] files)
    {
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        }
        return tar.ToArray();
    }

    /// <summary>The signed, uncompressed stream: tar + trailer.</summary>
    public byte[] SignedStream(byte[] tar, string context = "bali")
    {
        byte[] sig = new byte[64];
        Ed25519.SignPrehash(_seed, 0, Encoding.ASCII.GetBytes(context), SHA512.HashData(tar), 0, sig, 0);
        return [.. tar, .. new byte[8], .. "iksig\0\0\0"u8, .. sig];
    }

    public static byte[] Gzip(byte[] data)
    {
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return gz.ToArray();
    }

    /// <summary>A signed .tar.gz written to <paramref name="path"/>; returns its sha256.</summary>
    public Digest WriteImage(string path, byte[] tar, string context = "bali")
    {
        byte[] file = Gzip(SignedStream(tar, context));
        File.WriteAllBytes(path, file);
        return Digest.Of(file);
    }
}
