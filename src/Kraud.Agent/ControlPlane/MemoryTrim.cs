namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Gives memory back after a burst of oversized input. Reading a 10 MiB envelope (to learn it is too large) passes
/// its bytes through the connection's pooled buffers, and the garbage that leaves grows the heap; an idle agent
/// then never collects again, so its RSS stayed tens of MiB above its baseline. One compacting collection a
/// couple of seconds after the last oversized envelope returns it, once per burst.
/// </summary>
public static class MemoryTrim
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    private static long s_requestedAt;
    private static int s_scheduled;

    public static void Request()
    {
        Interlocked.Exchange(ref s_requestedAt, Environment.TickCount64);
        if (Interlocked.Exchange(ref s_scheduled, 1) == 0) _ = Task.Run(RunAsync);
    }

    private static async Task RunAsync()
    {
        long waited;
        while ((waited = Environment.TickCount64 - Interlocked.Read(ref s_requestedAt)) < (long)Quiet.TotalMilliseconds)
            await Task.Delay(TimeSpan.FromMilliseconds(Quiet.TotalMilliseconds - waited + 1));
        Interlocked.Exchange(ref s_scheduled, 0);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
