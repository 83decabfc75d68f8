using System.Text.Json.Nodes;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// The Progressing status of one reconcile: written once after 250 ms (a quicker reconcile goes straight to its
/// outcome), then again with the kind's latest observation (<see cref="Report"/>, e.g. a pull's bytes) at most once a
/// second. <see cref="Cancel"/> waits for a write in flight, so no Progressing lands after the outcome.
/// </summary>
internal sealed class ProgressingStatus : IProgress<JsonObject>
{
    private readonly Func<JsonObject?, Task> _write;
    private readonly CancellationTokenSource _cts;
    private readonly Task _loop;
    private JsonObject? _latest;
    private int _dirty;

    public ProgressingStatus(Func<JsonObject?, Task> write, CancellationToken ct)
    {
        _write = write;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loop = RunAsync(_cts.Token);
    }

    public void Report(JsonObject value)
    {
        Volatile.Write(ref _latest, value);
        Interlocked.Exchange(ref _dirty, 1);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (ct.IsCancellationRequested) return;
        await _write(Interlocked.Exchange(ref _dirty, 0) == 1 ? Volatile.Read(ref _latest) : null);
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (ct.IsCancellationRequested) return;
            if (Interlocked.Exchange(ref _dirty, 0) == 1) await _write(Volatile.Read(ref _latest));
        }
    }

    public async Task Cancel()
    {
        _cts.Cancel();
        await _loop;
        _cts.Dispose();
    }
}
