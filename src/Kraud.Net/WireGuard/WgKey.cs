using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Kraud.Net.WireGuard;

/// <summary>A 32-byte WireGuard key (Curve25519), compared by value; text form is base64 as in wg(8).</summary>
public readonly struct WgKey : IEquatable<WgKey>
{
    public const int Length = 32;
    private readonly ulong _a, _b, _c, _d;

    public WgKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length) throw new ArgumentException($"a WireGuard key is {Length} bytes, not {bytes.Length}");
        _a = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
    }

    public bool IsZero => (_a | _b | _c | _d) == 0;

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>A new private key: 32 random bytes, clamped as Curve25519 requires.</summary>
    public static WgKey GeneratePrivate()
    {
        Span<byte> k = stackalloc byte[Length];
        RandomNumberGenerator.Fill(k);
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        return new WgKey(k);
    }

    /// <summary>The public key of this private key (X25519 with the base point).</summary>
    public WgKey PublicKey() => new(X25519.PublicKey(ToArray()));

    public static WgKey Parse(string base64)
    {
        if (!TryParse(base64, out var key)) throw new FormatException($"'{base64}' is not a base64 WireGuard key (32 bytes)");
        return key;
    }

    public static bool TryParse(string? base64, out WgKey key)
    {
        key = default;
        Span<byte> bytes = stackalloc byte[Length + 3];
        if (base64 is null || base64.Length != 44 || !Convert.TryFromBase64String(base64, bytes, out int n) || n != Length) return false;
        key = new WgKey(bytes[..Length]);
        return true;
    }

    public static WgKey FromHex(string hex) => new(Convert.FromHexString(hex));

    public string ToHex() => Convert.ToHexString(ToArray()).ToLowerInvariant();

    public override string ToString() => Convert.ToBase64String(ToArray());

    public bool Equals(WgKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
    public override bool Equals(object? obj) => obj is WgKey k && Equals(k);
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);
    public static bool operator ==(WgKey left, WgKey right) => left.Equals(right);
    public static bool operator !=(WgKey left, WgKey right) => !left.Equals(right);
}
