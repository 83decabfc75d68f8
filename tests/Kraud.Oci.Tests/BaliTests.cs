using Kraud.Oci.Tests.Fixtures;
using Kraud.Testing;

namespace Kraud.Oci.Tests;

/// <summary>bali identities and signatures: upstream's own vectors, a file signed by Go, and files signed here.</summary>
public sealed class BaliTests : IDisposable
{
    // identitykit's go/identity_test.go: this secret's identity is this string.
    private const string UpstreamSecret = "cCOMZM5Z2HHCSVE65EDABQYXZHFA4AFH7NCTFG2VJ6V5OX7OXI33PMUQ";
    private const string UpstreamIdentity = "cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYFWY";

    private readonly TempDir _dir = new("kraud-bali");

    private static string GoSigned => Path.Combine(AppContext.BaseDirectory, "Fixtures", "bali", "signed-by-go.tar.gz");

    [Fact]
    public void The_identity_of_identitykits_test_secret_is_the_string_identitykit_prints()
    {
        // A secret string is the same encoding with type 3: [0x13, 32-byte seed, crc8].
        byte[] raw = Base32(UpstreamSecret[1..]);
        var signer = new BaliSigner(raw[1..33]);

        Assert.Equal(UpstreamIdentity, signer.Identity.ToString());
        Assert.Equal(signer.Identity, BaliIdentity.Parse(UpstreamIdentity));
        Assert.Equal(signer.Identity, BaliIdentity.Parse("c" + UpstreamIdentity[1..].ToLowerInvariant()));
    }

    [Theory]
    [InlineData("cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYFWA", "checksum does not match")]
    [InlineData(UpstreamSecret, "type 3, not an identity")]
    [InlineData("cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYF1Y", "'1' is not a base32 character")]
    [InlineData("DFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYFWY", "does not start with 'c'")]
    [InlineData("cDFXSA73D3H4MOM7HPVU", "not 34")]
    public void A_bad_identity_string_says_what_is_wrong(string text, string problem)
    {
        var e = Assert.Throws<FormatException>(() => BaliIdentity.Parse(text));
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_file_signed_by_Gos_ed25519_with_context_bali_verifies_against_its_identity()
    {
        var upstream = BaliIdentity.Parse(UpstreamIdentity);
        var other = new BaliSigner().Identity;

        Assert.Equal(upstream, BaliImage.Verify(GoSigned, [other, upstream]));
        var e = Assert.Throws<BaliSignatureException>(() => BaliImage.Verify(GoSigned, [other]));
        Assert.Equal(BaliSignatureProblem.BadSignature, e.Problem);
    }

    [Fact]
    public void A_file_signed_here_verifies_gzipped_or_plain()
    {
        var signer = new BaliSigner();
        byte[] tar = BaliSigner.Tar(("etc/os-release", "ID=bali\n"), ("bin/run", "#!/bin/sh\n"));
        string gz = Path.Combine(_dir.Path, "img.tar.gz"), plain = Path.Combine(_dir.Path, "img.tar");
        signer.WriteImage(gz, tar);
        File.WriteAllBytes(plain, signer.SignedStream(tar));

        Assert.Equal(signer.Identity, BaliImage.Verify(gz, [signer.Identity]));
        Assert.Equal(signer.Identity, BaliImage.Verify(plain, [signer.Identity]));
    }

    [Fact]
    public void One_changed_byte_of_content_makes_the_signature_bad()
    {
        var signer = new BaliSigner();
        byte[] stream = signer.SignedStream(BaliSigner.Tar(("a", "hello\n")));
        stream[600] ^= 1; // inside the first file's data block
        string path = Path.Combine(_dir.Path, "tampered.tar.gz");
        File.WriteAllBytes(path, BaliSigner.Gzip(stream));

        var e = Assert.Throws<BaliSignatureException>(() => BaliImage.Verify(path, [signer.Identity]));
        Assert.Equal(BaliSignatureProblem.BadSignature, e.Problem);
        Assert.True(e.IsPermanent);
    }

    [Fact]
    public void A_signature_without_the_bali_context_is_bad()
    {
        // What libsodium's (and so NSec's) Ed25519ph makes: the empty context. bali files must carry "bali".
        var signer = new BaliSigner();
        string path = Path.Combine(_dir.Path, "no-context.tar.gz");
        signer.WriteImage(path, BaliSigner.Tar(("a", "x")), context: "");

        var e = Assert.Throws<BaliSignatureException>(() => BaliImage.Verify(path, [signer.Identity]));
        Assert.Equal(BaliSignatureProblem.BadSignature, e.Problem);
    }

    [Fact]
    public void An_unsigned_tar_gz_is_unsigned_and_garbage_is_malformed()
    {
        string unsigned = Path.Combine(_dir.Path, "unsigned.tar.gz"), garbage = Path.Combine(_dir.Path, "garbage.tar.gz");
        File.WriteAllBytes(unsigned, BaliSigner.Gzip(BaliSigner.Tar(("a", "x"))));
        File.WriteAllBytes(garbage, [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]);
        var key = new BaliSigner().Identity;

        var u = Assert.Throws<BaliSignatureException>(() => BaliImage.Verify(unsigned, [key]));
        var g = Assert.Throws<BaliSignatureException>(() => BaliImage.Verify(garbage, [key]));

        Assert.Equal(BaliSignatureProblem.Unsigned, u.Problem);
        Assert.Contains("is not signed", u.Message);
        Assert.Equal(BaliSignatureProblem.Malformed, g.Problem);
    }

    [Fact]
    public async Task A_pull_from_a_path_stores_the_file_under_its_sha256_and_references_it()
    {
        var signer = new BaliSigner();
        string source = Path.Combine(_dir.Path, "app.tar.gz");
        Digest sha = signer.WriteImage(source, BaliSigner.Tar(("app", "v1\n")));
        using var store = new BlobStore(Path.Combine(_dir.Path, "store"));

        BaliVerified v = await BaliImage.PullAsync(store, new Uri(source).AbsoluteUri, sha, [signer.Identity], "pod-b", null, null, CancellationToken.None);

        Assert.Equal(signer.Identity, v.Signer);
        Assert.Equal(store.PathOf(sha), v.Path);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(v.Path));
        Assert.Equal([sha], store.ReferencesOf("pod-b"));
    }

    [Fact]
    public async Task A_pull_with_the_wrong_sha256_keeps_nothing_and_an_unsigned_file_is_not_referenced()
    {
        var signer = new BaliSigner();
        string signedPath = Path.Combine(_dir.Path, "signed.tar.gz"), unsignedPath = Path.Combine(_dir.Path, "unsigned.tar.gz");
        signer.WriteImage(signedPath, BaliSigner.Tar(("a", "1")));
        File.WriteAllBytes(unsignedPath, BaliSigner.Gzip(BaliSigner.Tar(("a", "2"))));
        var wrong = Digest.Of("something else"u8);
        using var store = new BlobStore(Path.Combine(_dir.Path, "store"));

        var mismatch = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            BaliImage.PullAsync(store, signedPath, wrong, [signer.Identity], "p", null, null, CancellationToken.None));
        var unsigned = await Assert.ThrowsAsync<BaliSignatureException>(() =>
            BaliImage.PullAsync(store, unsignedPath, Digest.Of(File.ReadAllBytes(unsignedPath)), [signer.Identity], "p", null, null, CancellationToken.None));

        Assert.Equal(wrong, mismatch.Expected);
        Assert.Contains(wrong.ToString(), mismatch.Message);
        Assert.False(store.Contains(wrong));
        Assert.Empty(Directory.GetFiles(store.BlobDirectory, $"*{wrong.Hex}*"));
        Assert.Equal(BaliSignatureProblem.Unsigned, unsigned.Problem);
        Assert.Empty(store.ReferencesOf("p"));
    }

    [Fact]
    public async Task No_trusted_keys_means_no_bali_image_is_accepted()
    {
        using var store = new BlobStore(Path.Combine(_dir.Path, "store"));

        var e = await Assert.ThrowsAsync<BaliSignatureException>(() =>
            BaliImage.PullAsync(store, GoSigned, Digest.Of(File.ReadAllBytes(GoSigned)), [], "p", null, null, CancellationToken.None));

        Assert.Equal(BaliSignatureProblem.NoTrustedKeys, e.Problem);
    }

    [Fact]
    public async Task A_pull_over_http_fetches_verifies_and_reports_progress()
    {
        // A real HTTP server for the file: the registry itself, serving the bali file as a layer blob.
        using var registry = await RegistryServer.StartAsync();
        var layout = new OciLayout(Path.Combine(_dir.Path, "layout"));
        var signer = new BaliSigner();
        byte[] file = BaliSigner.Gzip(signer.SignedStream(BaliSigner.Tar(("big", new string('x', 100_000)), ("small", "y"))));
        var blob = layout.AddBlob("application/vnd.oci.image.layer.v1.tar+gzip", file);
        layout.Tag("b", layout.AddImage("linux", "amd64", [blob], "/big"));
        Skopeo.Push(layout, "b", registry.Host, "bali/img", null, "--preserve-digests");
        using var store = new BlobStore(Path.Combine(_dir.Path, "store"));
        var reports = new List<TransferProgress>();

        BaliVerified v = await BaliImage.PullAsync(store, $"http://{registry.Host}/v2/bali/img/blobs/{blob.Digest}", blob.Digest,
            [signer.Identity], "p", reports.Add, null, CancellationToken.None);

        Assert.Equal(signer.Identity, v.Signer);
        Assert.Equal(file, File.ReadAllBytes(v.Path));
        Assert.Equal(new TransferProgress(file.Length, file.Length), reports[^1]);
    }

    private static byte[] Base32(string s)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (char c in s.ToUpperInvariant())
        {
            buffer = (buffer << 5) | alphabet.IndexOf(c);
            bits += 5;
            if (bits >= 8) { bytes.Add((byte)(buffer >> (bits - 8))); bits -= 8; }
        }
        return [.. bytes];
    }

    public void Dispose() => _dir.Dispose();
}
