namespace Kraud.Testing;

/// <summary>
/// A clock the test moves by hand, with timers it can count (FakeTimeProvider cannot say when a loop has armed its
/// next wait, which the timer tests wait for): <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>
/// on it completes when the test advances past its due time, so a timer loop runs simulated hours at once.
/// </summary>
public sealed class TimerClock(DateTimeOffset start) : TimeProvider
{
    private readonly object _lock = new();
    private readonly List<Timer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() { lock (_lock) return _now; }

    /// <summary>Timers armed now (a loop waiting on its next tick has one).</summary>
    public int Armed { get { lock (_lock) return _timers.Count(t => t.DueAt is not null); } }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new Timer(this, callback, state);
        lock (_lock) _timers.Add(t);
        t.Change(dueTime, period);
        return t;
    }

    /// <summary>Moves the clock and fires (once) every timer now due.</summary>
    public void Advance(TimeSpan by)
    {
        List<Timer> due;
        lock (_lock)
        {
            _now += by;
            due = _timers.Where(t => t.DueAt <= _now).ToList();
            foreach (var t in due) t.DueAt = null;
        }
        foreach (var t in due) t.Fire();
    }

    private sealed class Timer(TimerClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? DueAt { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock) DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
            if (dueTime == TimeSpan.Zero) clock.Advance(TimeSpan.Zero);
            return true;
        }

        public void Dispose()
        {
            lock (clock._lock) { DueAt = null; clock._timers.Remove(this); }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
