namespace Kraud.Agent.ControlPlane;

/// <summary>Runs an action once after a delay unless cancelled first; <see cref="Cancel"/> waits for a started run to finish.</summary>
public sealed class DelayedAction
{
    private readonly CancellationTokenSource _cts;
    private readonly Task _task;

    public DelayedAction(TimeSpan delay, Func<Task> action, CancellationToken ct)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _task = RunAsync(delay, action, _cts.Token);
    }

    private static async Task RunAsync(TimeSpan delay, Func<Task> action, CancellationToken ct)
    {
        // Usually cancelled before it fires (a reconcile quicker than the delay): no exception for that.
        await Task.Delay(delay, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (ct.IsCancellationRequested) return;
        await action();
    }

    public async Task Cancel()
    {
        _cts.Cancel();
        await _task;
        _cts.Dispose();
    }
}
