using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kraud.Libc.Tests;

/// <summary>Which mappings the trim may unmap, read from smaps text, and the trim on this very process.</summary>
public sealed class CleanFilePagesTests
{
    private const string Smaps = """
        55d0a0000000-55d0a0400000 r--p 00000000 fd:01 1234                       /usr/bin/kraud-agent
        Size:               4096 kB
        Rss:                1024 kB
        Anonymous:             0 kB
        Locked:                0 kB
        55d0a0400000-55d0a0c00000 r-xp 00400000 fd:01 1234                       /usr/bin/kraud-agent
        Rss:                3000 kB
        Anonymous:             0 kB
        Locked:                0 kB
        55d0a0c00000-55d0a0d00000 r--p 00c00000 fd:01 1234                       /usr/bin/kraud-agent
        Rss:                 512 kB
        Anonymous:           512 kB
        Locked:                0 kB
        55d0a0d00000-55d0a0e00000 rw-p 00d00000 fd:01 1234                       /usr/bin/kraud-agent
        Rss:                 100 kB
        Anonymous:            20 kB
        7f0000000000-7f0000100000 rw-p 00000000 00:00 0
        Rss:                 900 kB
        Anonymous:           900 kB
        7f0000100000-7f0000200000 r--s 00000000 fd:01 99                         /var/lib/some/shared
        Rss:                  10 kB
        Anonymous:             0 kB
        7f0000200000-7f0000300000 r-xp 00000000 fd:01 77                         /usr/lib/x86_64-linux-gnu/libc.so.6
        Rss:                  64 kB
        Anonymous:             0 kB
        Locked:               64 kB
        7ffc00000000-7ffc00001000 r-xp 00000000 00:00 0                          [vdso]
        Rss:                   4 kB
        Anonymous:             0 kB
        """;

    [Fact]
    public void OnlyCleanPrivateReadOnlyFileMappings_AreEligible()
    {
        var mappings = CleanFilePages.Mappings(Smaps.Split('\n')).ToList();
        Assert.Equal(8, mappings.Count);
        Assert.Equal(0x55d0a0000000UL, mappings[0].Start);
        Assert.Equal(0x55d0a0400000UL, mappings[0].End);
        Assert.Equal("/usr/bin/kraud-agent", mappings[0].Path);
        Assert.Equal(1024, mappings[0].RssKib);
        // Code and constants untouched since they were read: yes. RELRO (copied on write), writable data, anonymous
        // memory, a shared mapping, locked text and the vdso: no.
        Assert.Equal([true, true, false, false, false, false, false, false], mappings.Select(m => m.Eligible));
    }

    [Fact]
    public void DroppingThisProcessesCleanPages_LowersItsFileRss_AndItRunsOn()
    {
        long before = FileRssKib();
        long advised = CleanFilePages.Drop();
        long after = FileRssKib();
        Assert.True(advised > 0, "nothing was eligible in this process's own mappings");
        Assert.True(after < before, $"RssFile {before} kB before, {after} kB after (advised {advised} kB)");
        // Code that was unmapped runs again (faulted back in from the page cache).
        Assert.Equal("ok", string.Concat("o", "k"));
        Assert.True(Process.GetCurrentProcess().Threads.Count > 0);
        Assert.Equal(1, Marshal.SizeOf<byte>());
    }

    private static long FileRssKib() =>
        File.ReadLines("/proc/self/status").Where(l => l.StartsWith("RssFile:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).Single();
}
