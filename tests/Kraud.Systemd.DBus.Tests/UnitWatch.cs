namespace Kraud.Systemd.DBus.Tests;

/// <summary>A test's view of <see cref="SystemdManager.WatchUnitAsync"/>: wait for a state with a time limit, and
/// say every state seen when it does not come.</summary>
public sealed class UnitWatch : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly IAsyncEnumerator<UnitState> _states;
    private Task<bool>? _pending; // a MoveNextAsync still running after a wait timed out
    public readonly List<UnitState> Seen = [];

    private UnitWatch(SystemdManager systemd, string unit) => _states = systemd.WatchUnitAsync(unit, _stop.Token).GetAsyncEnumerator();

    /// <summary>Subscribes and returns once the first state (the snapshot) is in.</summary>
    public static async Task<UnitWatch> StartAsync(SystemdManager systemd, string unit)
    {
        var watch = new UnitWatch(systemd, unit);
        await watch.NextAsync(_ => true, TimeSpan.FromSeconds(60), "the first state");
        return watch;
    }

    public UnitState Last => Seen[^1];

    public async Task<UnitState> NextAsync(Func<UnitState, bool> wanted, TimeSpan limit, string what)
    {
        using var timer = new CancellationTokenSource(limit);
        var timeout = Task.Delay(Timeout.Infinite, timer.Token);
        while (true)
        {
            var next = _pending ??= _states.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, timeout) != next)
                throw new TimeoutException($"no {what} within {limit.TotalSeconds} s; seen:\n  {string.Join("\n  ", Seen)}");
            _pending = null;
            if (!await next) throw new InvalidOperationException($"the watch ended before {what}");
            Seen.Add(_states.Current);
            if (wanted(_states.Current)) return _states.Current;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_pending is not null) await _pending; // ends quietly on cancellation
        await _states.DisposeAsync();
    }
}
