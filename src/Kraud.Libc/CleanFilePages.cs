using System.Globalization;
using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>
/// Unmaps the resident pages of this process's clean, private, read-only file mappings (its own executable's code and
/// constants, shared libraries' text) with MADV_DONTNEED. They stay in the page cache, so a page used again is a minor
/// fault away; what goes is the start-up's one-time code, which the kernel's fault-around mapped 64 KiB at a time and
/// which would otherwise count in the process's RSS for as long as it idles.
/// Only mappings that are not writable and hold no anonymous (copied-on-write) page are touched: for those, dropping a
/// page and faulting it in again from the file gives the same bytes. A relocated read-only segment (RELRO) holds
/// anonymous pages and is skipped, as is anything writable, shared or not backed by a file.
/// </summary>
public static partial class CleanFilePages
{
    private const int MADV_DONTNEED = 4;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint addr, nuint length, int advice);

    /// <summary>Drops them; returns how many KiB were resident in the mappings advised (what RSS may fall by).</summary>
    public static long Drop() => Drop(File.ReadLines("/proc/self/smaps"));

    internal static long Drop(IEnumerable<string> smaps)
    {
        long dropped = 0;
        foreach (var m in Mappings(smaps))
        {
            if (!m.Eligible) continue;
            if (madvise((nint)m.Start, (nuint)(m.End - m.Start), MADV_DONTNEED) == 0) dropped += m.RssKib;
        }
        return dropped;
    }

    internal readonly record struct Mapping(ulong Start, ulong End, string Perms, string Path, long RssKib, long AnonymousKib, long LockedKib)
    {
        /// <summary>Private, not writable, from a file, resident, nothing copied on write and nothing locked.</summary>
        public bool Eligible => Perms.Length == 4 && Perms[1] != 'w' && Perms[3] == 'p' && Path.StartsWith('/')
            && RssKib > 0 && AnonymousKib == 0 && LockedKib == 0;
    }

    /// <summary>The mappings of an smaps text: a header line `start-end perms offset dev inode [path]`, then `Key: N kB` lines.</summary>
    internal static IEnumerable<Mapping> Mappings(IEnumerable<string> smaps)
    {
        Mapping? current = null;
        foreach (string line in smaps)
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                if (current is { } done) yield return done;
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                current = new Mapping(ulong.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    parts.Length > 1 ? parts[1] : "", parts.Length > 5 ? parts[5].Trim() : "", 0, 0, 0);
            }
            else if (current is { } m)
            {
                if (line.StartsWith("Rss:", StringComparison.Ordinal)) current = m with { RssKib = Kib(line) };
                else if (line.StartsWith("Anonymous:", StringComparison.Ordinal)) current = m with { AnonymousKib = Kib(line) };
                else if (line.StartsWith("Locked:", StringComparison.Ordinal)) current = m with { LockedKib = Kib(line) };
            }
        }
        if (current is { } last) yield return last;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }

    /// <summary>The number of `Key:   N kB`.</summary>
    private static long Kib(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : 0;
    }
}
