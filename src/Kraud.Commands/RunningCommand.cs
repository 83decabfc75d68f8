namespace Kraud.Commands;

/// <summary>A long-running program started by <see cref="ArgvRunner.Start"/>, its output going to the log.</summary>
public sealed class RunningCommand : IAsyncDisposable
{
    private readonly CancellationTokenSource _interrupt;
    private readonly CancellationTokenSource _kill;
    private readonly Task<CliWrap.CommandResult> _task;
    private readonly Func<string> _stderr;

    internal RunningCommand(IReadOnlyList<string> argv, int processId, Task<CliWrap.CommandResult> task, Func<string> stderr,
        CancellationTokenSource interrupt, CancellationTokenSource kill)
    {
        Argv = argv;
        ProcessId = processId;
        _task = task;
        _stderr = stderr;
        _interrupt = interrupt;
        _kill = kill;
        Exited = WaitAsync();
    }

    public IReadOnlyList<string> Argv { get; }
    public int ProcessId { get; }
    public bool HasExited => _task.IsCompleted;

    /// <summary>How the program ended on its own; canceled when <see cref="StopAsync"/> or disposal ended it.</summary>
    public Task<CommandResult> Exited { get; }

    /// <summary>SIGINT, a clean stop for nats-server; at <paramref name="deadline"/> the process tree is killed. True when it stopped before the deadline.</summary>
    public async Task<bool> StopAsync(CancellationToken deadline)
    {
        if (HasExited) return true;
        await _interrupt.CancelAsync().ConfigureAwait(false);
        try
        {
            await _task.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            await _kill.CancelAsync().ConfigureAwait(false);
            await Settle().ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException)
        {
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            await _kill.CancelAsync().ConfigureAwait(false);
            await Settle().ConfigureAwait(false);
        }
        _interrupt.Dispose();
        _kill.Dispose();
    }

    private async Task<CommandResult> WaitAsync() =>
        new(Argv, (await _task.ConfigureAwait(false)).ExitCode, "", _stderr());

    private async Task Settle()
    {
        try { await _task.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }
}
