using System.Numerics;

namespace Kraud.Net.WireGuard;

/// <summary>
/// X25519 (RFC 7748 section 5): the Montgomery ladder over GF(2^255-19) with BigInteger arithmetic.
/// Used to derive public keys (the userspace backend does not report them) — a few hundred microseconds per
/// call, fine for key management; it is not constant-time and is never used on secret material the host did
/// not make itself.
/// </summary>
public static class X25519
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger A24 = 121665;
    private static readonly byte[] BasePoint = [9, .. new byte[31]];

    /// <summary>The public key for a private key: X25519(k, 9).</summary>
    public static byte[] PublicKey(ReadOnlySpan<byte> privateKey) => ScalarMult(privateKey, BasePoint);

    /// <summary>X25519(k, u): scalar clamped, u's top bit masked, both little-endian.</summary>
    public static byte[] ScalarMult(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> u)
    {
        if (scalar.Length != 32 || u.Length != 32) throw new ArgumentException("X25519 inputs are 32 bytes");
        Span<byte> k = stackalloc byte[32];
        scalar.CopyTo(k);
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        Span<byte> uBytes = stackalloc byte[32];
        u.CopyTo(uBytes);
        uBytes[31] &= 127;

        BigInteger x1 = new BigInteger(uBytes, isUnsigned: true, isBigEndian: false) % P;
        BigInteger x2 = 1, z2 = 0, x3 = x1, z3 = 1;
        int swap = 0;
        for (int t = 254; t >= 0; t--)
        {
            int kt = (k[t >> 3] >> (t & 7)) & 1;
            swap ^= kt;
            if (swap == 1)
            {
                (x2, x3) = (x3, x2);
                (z2, z3) = (z3, z2);
            }
            swap = kt;
            BigInteger a = (x2 + z2) % P;
            BigInteger aa = a * a % P;
            BigInteger b = (x2 - z2 + P) % P;
            BigInteger bb = b * b % P;
            BigInteger e = (aa - bb + P) % P;
            BigInteger c = (x3 + z3) % P;
            BigInteger d = (x3 - z3 + P) % P;
            BigInteger da = d * a % P;
            BigInteger cb = c * b % P;
            BigInteger s = (da + cb) % P;
            x3 = s * s % P;
            BigInteger diff = (da - cb + P) % P;
            z3 = x1 * (diff * diff % P) % P;
            x2 = aa * bb % P;
            z2 = e * ((aa + A24 * e) % P) % P;
        }
        if (swap == 1)
        {
            (x2, x3) = (x3, x2);
            (z2, z3) = (z3, z2);
        }
        BigInteger result = x2 * BigInteger.ModPow(z2, P - 2, P) % P;
        var output = new byte[32];
        result.TryWriteBytes(output, out _, isUnsigned: true, isBigEndian: false);
        return output;
    }
}
