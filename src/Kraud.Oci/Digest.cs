using System.Security.Cryptography;

namespace Kraud.Oci;

/// <summary>
/// A content digest, <c>sha256:&lt;64 lower-case hex&gt;</c>. Only sha256: it is what every registry and image in use
/// here produces, and accepting sha512 would mean a second store layout for no image we have.
/// </summary>
public readonly record struct Digest
{
    private const string Prefix = "sha256:";

    private Digest(string hex) => Hex = hex;

    /// <summary>The 64 lower-case hex characters (the blob's file name in the store).</summary>
    public string Hex { get; }

    public override string ToString() => Prefix + Hex;

    /// <summary>Parses <c>sha256:&lt;hex&gt;</c>; the error names what is wrong with the text.</summary>
    public static Digest Parse(string text) =>
        TryParse(text, out var d, out string? error) ? d : throw new FormatException(error);

    public static bool TryParse(string? text, out Digest digest, out string? error)
    {
        digest = default;
        if (string.IsNullOrEmpty(text)) { error = "digest is empty"; return false; }
        int colon = text.IndexOf(':');
        if (colon <= 0) { error = $"digest '{Shorten(text)}' has no algorithm: expected sha256:<64 hex digits>"; return false; }
        string algorithm = text[..colon];
        if (algorithm != "sha256") { error = $"digest '{Shorten(text)}' uses algorithm '{Shorten(algorithm)}': only sha256 is supported"; return false; }
        return TryParseHex(text[(colon + 1)..], out digest, out error, text);
    }

    /// <summary>From bare hex (a bali image's sha256, a file name in the store).</summary>
    public static Digest FromHex(string hex) =>
        TryParseHex(hex, out var d, out string? error, hex) ? d : throw new FormatException(error);

    /// <summary>The sha256 of some bytes (a manifest fetched whole).</summary>
    public static Digest Of(ReadOnlySpan<byte> content) =>
        new(Convert.ToHexStringLower(SHA256.HashData(content)));

    internal static Digest FromHash(byte[] sha256) => new(Convert.ToHexStringLower(sha256));

    private static bool TryParseHex(string hex, out Digest digest, out string? error, string whole)
    {
        digest = default;
        if (hex.Length != 64) { error = $"digest '{Shorten(whole)}': expected 64 hex digits after sha256:, got {hex.Length}"; return false; }
        foreach (char c in hex)
        {
            // Lower case only: the digest is a file name and a map key, and registries always write it lower case.
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                error = $"digest '{Shorten(whole)}': '{c}' is not a lower-case hex digit";
                return false;
            }
        }
        digest = new Digest(hex);
        error = null;
        return true;
    }

    // Error messages quote the input, but a pasted megabyte should not become a megabyte of log line.
    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "…";
}
