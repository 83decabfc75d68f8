namespace Kraud.Agent.ControlPlane;

/// <summary>Delays that double per attempt up to a ceiling (contract section 3).</summary>
public static class Backoff
{
    /// <summary>Dispatch of a busy resource: 250 ms, 500 ms, 1 s, ... up to 5 s.</summary>
    public static TimeSpan Busy(ulong delivered) => Grow(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5), delivered);

    /// <summary>A transient reconcile failure: 1 s, 2 s, 4 s, ... up to 60 s.</summary>
    public static TimeSpan Transient(ulong attempt) => Grow(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), attempt);

    /// <summary>A status write the cluster did not answer (a leader election): 250 ms, 500 ms, ... up to 4 s.</summary>
    public static TimeSpan StatusWrite(ulong attempt) => Grow(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4), attempt);

    private static TimeSpan Grow(TimeSpan first, TimeSpan max, ulong attempt)
    {
        int doublings = (int)Math.Min(Math.Max(attempt, 1) - 1, 20);
        var d = first * (1L << doublings);
        return d > max ? max : d;
    }
}
