namespace Kraud.Agent.Kinds;

/// <summary>
/// A part of the host record computed at most once per <paramref name="refresh"/>: a listing costs a process start
/// or a round trip per resource, and the heartbeat comes every 10 s. One computation at a time; concurrent callers
/// wait for it and share its result. A failed computation throws to its caller (the heartbeat logs it) and then
/// either reports <paramref name="initial"/> until the next refresh (<paramref name="retryAtOnce"/> false) or keeps the last
/// value and tries again at the next call (true).
/// </summary>
public sealed class RefreshedValue<T>(TimeSpan refresh, TimeProvider clock, T initial, bool retryAtOnce)
{
    private readonly SemaphoreSlim _computing = new(1, 1);
    private readonly T _initial = initial;
    private DateTimeOffset _computedAt = DateTimeOffset.MinValue;

    /// <summary>The last value (or <paramref name="initial"/>), whatever the last computation did.</summary>
    public T Value { get; private set; } = initial;

    /// <summary>The value, computed afresh first when the last computation is older than the refresh.</summary>
    public async Task<T> GetAsync(Func<CancellationToken, Task<T>> compute, CancellationToken ct)
    {
        await _computing.WaitAsync(ct);
        try
        {
            if (clock.GetUtcNow() - _computedAt < refresh) return Value;
            if (!retryAtOnce)
            {
                Value = _initial;
                _computedAt = clock.GetUtcNow();
            }
            Value = await compute(ct);
            _computedAt = clock.GetUtcNow();
            return Value;
        }
        finally
        {
            _computing.Release();
        }
    }
}
