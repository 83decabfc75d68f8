using System.Security.Cryptography;

namespace Kraud.Nats.Internal;

/// <summary>Unique ids for inboxes and ephemeral names: 22 base62 chars, a random prefix plus a counter.</summary>
internal static class Nuid
{
    private const string Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly string Prefix = RandomPrefix();
    private static long _seq = RandomNumberGenerator.GetInt32(1, int.MaxValue);

    public static string Next()
    {
        var n = Interlocked.Increment(ref _seq);
        return string.Create(22, n, static (span, v) =>
        {
            Prefix.AsSpan().CopyTo(span);
            for (var i = 21; i >= 12; i--)
            {
                span[i] = Digits[(int)(v % 62)];
                v /= 62;
            }
        });
    }

    private static string RandomPrefix()
    {
        Span<char> c = stackalloc char[12];
        for (var i = 0; i < c.Length; i++) c[i] = Digits[RandomNumberGenerator.GetInt32(62)];
        return new string(c);
    }
}
