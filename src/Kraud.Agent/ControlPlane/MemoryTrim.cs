namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Gives memory back after a burst of work. Reading a 10 MiB envelope (to learn it is too large) passes its bytes
/// through the connection's pooled buffers, and the garbage that leaves grows the heap; an idle agent then never
/// collects again, so its RSS stayed tens of MiB above its baseline. One compacting collection a couple of seconds
/// after the last work token of a burst (WorkEngine) returns it, once per burst. The same once at start-up: the
/// configuration, the connection and the stream set-up leave a few MiB of garbage that a gen0 budget sized by the
/// CPU's cache would keep resident for hours of idling (bench/startup: idle RSS). After the collection, the pages
/// the start-up touched once in the binary's code and constants (and the libraries' text) are unmapped too
/// (<see cref="Kraud.Libc.CleanFilePages"/>): they stay in the page cache, and what the idle agent runs faults back in.
/// </summary>
public static class MemoryTrim
{
    private static readonly TimeSpan DefaultQuiet = TimeSpan.FromSeconds(2);
    private static long s_requestedAt, s_quietMs;
    private static int s_scheduled;

    /// <summary>One compacting collection once <paramref name="quiet"/> (default 2 s) has passed without another request.</summary>
    public static void Request(TimeSpan? quiet = null)
    {
        Interlocked.Exchange(ref s_quietMs, (long)(quiet ?? DefaultQuiet).TotalMilliseconds);
        Interlocked.Exchange(ref s_requestedAt, Environment.TickCount64);
        if (Interlocked.Exchange(ref s_scheduled, 1) == 0) _ = Task.Run(RunAsync);
    }

    private static async Task RunAsync()
    {
        long waited, quietMs;
        while ((waited = Environment.TickCount64 - Interlocked.Read(ref s_requestedAt)) < (quietMs = Interlocked.Read(ref s_quietMs)))
            await Task.Delay(TimeSpan.FromMilliseconds(quietMs - waited + 1));
        Interlocked.Exchange(ref s_scheduled, 0);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        try { Kraud.Libc.CleanFilePages.Drop(); }
        catch (IOException) { } // no /proc/self/smaps (a hardened /proc): nothing to trim by
    }
}
