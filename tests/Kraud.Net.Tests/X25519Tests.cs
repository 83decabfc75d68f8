using Kraud.Net.WireGuard;

namespace Kraud.Net.Tests;

/// <summary>X25519 against RFC 7748 (sections 5.2 and 6.1) and against wg(8) itself.</summary>
public class X25519Tests
{
    private static string Mul(string k, string u) => Convert.ToHexString(X25519.ScalarMult(Convert.FromHexString(k), Convert.FromHexString(u))).ToLowerInvariant();

    [Theory]
    [InlineData("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Rfc7748ScalarMultVectors(string k, string u, string expected) => Assert.Equal(expected, Mul(k, u));

    [Fact]
    public void Rfc7748IteratedOneAndThousand()
    {
        byte[] k = new byte[32], u = new byte[32];
        k[0] = u[0] = 9;
        for (int i = 1; i <= 1000; i++)
        {
            var r = X25519.ScalarMult(k, u);
            u = k;
            k = r;
            if (i == 1) Assert.Equal("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", Convert.ToHexString(k).ToLowerInvariant());
        }
        Assert.Equal("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", Convert.ToHexString(k).ToLowerInvariant());
    }

    [Fact]
    public void Rfc7748DiffieHellman()
    {
        const string alice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
        const string bob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
        var alicePub = WgKey.FromHex(alice).PublicKey();
        var bobPub = WgKey.FromHex(bob).PublicKey();
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", alicePub.ToHex());
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bobPub.ToHex());
        const string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        Assert.Equal(shared, Mul(alice, bobPub.ToHex()));
        Assert.Equal(shared, Mul(bob, alicePub.ToHex()));
    }

    [Fact]
    public void GeneratedKeysAreClampedDistinctAndMatchWgPubkey()
    {
        var a = WgKey.GeneratePrivate();
        var b = WgKey.GeneratePrivate();
        Assert.NotEqual(a, b);
        var bytes = a.ToArray();
        Assert.Equal(0, bytes[0] & 7);
        Assert.Equal(0x40, bytes[31] & 0xC0);
        Assert.Equal(a, WgKey.Parse(a.ToString()));

        var psi = new System.Diagnostics.ProcessStartInfo("wg", "pubkey") { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.WriteLine(a.ToString());
        p.StandardInput.Close();
        string fromWg = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.Equal(fromWg, a.PublicKey().ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64")]
    [InlineData("AAAA")]
    public void BadKeyTextIsRejected(string text) => Assert.False(WgKey.TryParse(text, out _));
}
