using Kraud.Libc;

namespace Kraud.Systemd;

/// <summary>Tells whether stderr is connected to the journal, by matching $JOURNAL_STREAM (dev:ino) with fstat(2).</summary>
public static class JournalStream
{
    public static unsafe bool StderrIsJournal()
    {
        string? value = Environment.GetEnvironmentVariable("JOURNAL_STREAM");
        if (string.IsNullOrEmpty(value)) return false;
        int colon = value.IndexOf(':');
        if (colon < 0 || !ulong.TryParse(value.AsSpan(0, colon), out ulong dev) || !ulong.TryParse(value.AsSpan(colon + 1), out ulong ino))
            return false;
        Native.Stat st;
        if (Native.fstat(2, &st) != 0) return false;
        return st.Dev == dev && st.Ino == ino;
    }
}
