namespace Kraud.Oci;

/// <summary>
/// A bali signer's identity as identitykit writes it (devguardio/identity, go/identity.go): <c>'c'</c> followed by
/// unpadded base32 (RFC 4648 alphabet, any case) of <c>[0x19, 32-byte Ed25519 public key, crc8]</c>, where 0x19 is
/// version 1 and type 9 ("Identity") and the crc8 is identitykit's table over the type byte and the key.
/// </summary>
public sealed class BaliIdentity : IEquatable<BaliIdentity>
{
    private const byte TypeByte = (1 << 4) | 9;
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    private readonly byte[] _key;

    private BaliIdentity(byte[] key) => _key = key;

    /// <summary>The 32-byte Ed25519 public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _key;

    public static BaliIdentity FromPublicKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32) throw new ArgumentException($"an Ed25519 public key is 32 bytes, not {key.Length}", nameof(key));
        return new BaliIdentity(key.ToArray());
    }

    public static BaliIdentity Parse(string text) =>
        TryParse(text, out var id, out string? error) ? id : throw new FormatException(error);

    public static bool TryParse(string? text, out BaliIdentity identity, out string? error)
    {
        identity = null!;
        string s = text?.Trim() ?? "";
        string quoted = s.Length > 80 ? s[..80] + "…" : s;
        if (s.Length < 3 || s[0] != 'c') { error = $"bali identity '{quoted}' does not start with 'c'"; return false; }
        if (!TryBase32(s[1..], out byte[] raw, out char bad))
        {
            error = $"bali identity '{quoted}': '{bad}' is not a base32 character";
            return false;
        }
        if (raw.Length != 34) { error = $"bali identity '{quoted}' holds {raw.Length} bytes, not 34 (type, 32-byte key, checksum)"; return false; }
        if (raw[0] != TypeByte)
        {
            error = $"bali identity '{quoted}' is of version {raw[0] >> 4} type {raw[0] & 0xf}, not an identity (version 1 type 9)";
            return false;
        }
        if (Crc8(raw.AsSpan(0, 33)) != raw[33]) { error = $"bali identity '{quoted}': checksum does not match (a typo?)"; return false; }
        identity = new BaliIdentity(raw[1..33]);
        error = null;
        return true;
    }

    public override string ToString()
    {
        byte[] raw = new byte[34];
        raw[0] = TypeByte;
        _key.CopyTo(raw, 1);
        raw[33] = Crc8(raw.AsSpan(0, 33));
        var sb = new System.Text.StringBuilder("c");
        int buffer = 0, bits = 0;
        foreach (byte b in raw)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0) sb.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        return sb.ToString();
    }

    public bool Equals(BaliIdentity? other) => other is not null && _key.AsSpan().SequenceEqual(other._key);
    public override bool Equals(object? obj) => Equals(obj as BaliIdentity);
    public override int GetHashCode() => BitConverter.ToInt32(_key, 0);

    private static bool TryBase32(string text, out byte[] bytes, out char bad)
    {
        var result = new List<byte>(text.Length * 5 / 8);
        int buffer = 0, bits = 0;
        bad = '\0';
        foreach (char c in text)
        {
            int v = Alphabet.IndexOf(char.ToUpperInvariant(c));
            if (v < 0) { bad = c; bytes = []; return false; }
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                result.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }
        bytes = [.. result];
        return true;
    }

    // identitykit's crc8 (go-daq/crc8 with this table: crc = table[crc ^ b], from 0), copied from go/identity.go.
    private static byte Crc8(ReadOnlySpan<byte> data)
    {
        byte crc = 0;
        foreach (byte b in data) crc = Crc8Table[crc ^ b];
        return crc;
    }

    private static ReadOnlySpan<byte> Crc8Table =>
    [
        0xea, 0xd4, 0x96, 0xa8, 0x12, 0x2c, 0x6e, 0x50, 0x7f, 0x41, 0x03, 0x3d, 0x87, 0xb9, 0xfb, 0xc5,
        0xa5, 0x9b, 0xd9, 0xe7, 0x5d, 0x63, 0x21, 0x1f, 0x30, 0x0e, 0x4c, 0x72, 0xc8, 0xf6, 0xb4, 0x8a,
        0x74, 0x4a, 0x08, 0x36, 0x8c, 0xb2, 0xf0, 0xce, 0xe1, 0xdf, 0x9d, 0xa3, 0x19, 0x27, 0x65, 0x5b,
        0x3b, 0x05, 0x47, 0x79, 0xc3, 0xfd, 0xbf, 0x81, 0xae, 0x90, 0xd2, 0xec, 0x56, 0x68, 0x2a, 0x14,
        0xb3, 0x8d, 0xcf, 0xf1, 0x4b, 0x75, 0x37, 0x09, 0x26, 0x18, 0x5a, 0x64, 0xde, 0xe0, 0xa2, 0x9c,
        0xfc, 0xc2, 0x80, 0xbe, 0x04, 0x3a, 0x78, 0x46, 0x69, 0x57, 0x15, 0x2b, 0x91, 0xaf, 0xed, 0xd3,
        0x2d, 0x13, 0x51, 0x6f, 0xd5, 0xeb, 0xa9, 0x97, 0xb8, 0x86, 0xc4, 0xfa, 0x40, 0x7e, 0x3c, 0x02,
        0x62, 0x5c, 0x1e, 0x20, 0x9a, 0xa4, 0xe6, 0xd8, 0xf7, 0xc9, 0x8b, 0xb5, 0x0f, 0x31, 0x73, 0x4d,
        0x58, 0x66, 0x24, 0x1a, 0xa0, 0x9e, 0xdc, 0xe2, 0xcd, 0xf3, 0xb1, 0x8f, 0x35, 0x0b, 0x49, 0x77,
        0x17, 0x29, 0x6b, 0x55, 0xef, 0xd1, 0x93, 0xad, 0x82, 0xbc, 0xfe, 0xc0, 0x7a, 0x44, 0x06, 0x38,
        0xc6, 0xf8, 0xba, 0x84, 0x3e, 0x00, 0x42, 0x7c, 0x53, 0x6d, 0x2f, 0x11, 0xab, 0x95, 0xd7, 0xe9,
        0x89, 0xb7, 0xf5, 0xcb, 0x71, 0x4f, 0x0d, 0x33, 0x1c, 0x22, 0x60, 0x5e, 0xe4, 0xda, 0x98, 0xa6,
        0x01, 0x3f, 0x7d, 0x43, 0xf9, 0xc7, 0x85, 0xbb, 0x94, 0xaa, 0xe8, 0xd6, 0x6c, 0x52, 0x10, 0x2e,
        0x4e, 0x70, 0x32, 0x0c, 0xb6, 0x88, 0xca, 0xf4, 0xdb, 0xe5, 0xa7, 0x99, 0x23, 0x1d, 0x5f, 0x61,
        0x9f, 0xa1, 0xe3, 0xdd, 0x67, 0x59, 0x1b, 0x25, 0x0a, 0x34, 0x76, 0x48, 0xf2, 0xcc, 0x8e, 0xb0,
        0xd0, 0xee, 0xac, 0x92, 0x28, 0x16, 0x54, 0x6a, 0x45, 0x7b, 0x39, 0x07, 0xbd, 0x83, 0xc1, 0xff,
    ];
}
