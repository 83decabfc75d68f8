using Kraud.Libc;

namespace Kraud.Commands;

/// <summary>A long-running program started by <see cref="ArgvRunner.Start"/>, its output going to the log.</summary>
public sealed class RunningCommand : IAsyncDisposable
{
    private readonly CancellationTokenSource _kill;
    private readonly Task<CliWrap.CommandResult> _task;
    private readonly Func<string> _stderr;
    private int _pidfd;
    private volatile bool _stopping;

    internal RunningCommand(IReadOnlyList<string> argv, int processId, int pidfd, Task<CliWrap.CommandResult> task, Func<string> stderr,
        CancellationTokenSource kill)
    {
        Argv = argv;
        ProcessId = processId;
        _pidfd = pidfd;
        _task = task;
        _stderr = stderr;
        _kill = kill;
        Exited = WaitAsync();
    }

    public IReadOnlyList<string> Argv { get; }
    public int ProcessId { get; }
    public bool HasExited => _task.IsCompleted;

    /// <summary>How the program ended on its own; canceled when <see cref="StopAsync"/> or disposal ended it.</summary>
    public Task<CommandResult> Exited { get; }

    /// <summary>
    /// SIGTERM (a clean stop for nats-server and virtiofsd); at <paramref name="deadline"/> the process tree is killed.
    /// True when it stopped before the deadline. Not SIGINT: a child inherits an ignored SIGINT from an agent started
    /// as a background job (the shell ignores it there, exec keeps it ignored), and would then only ever be killed.
    /// </summary>
    public async Task<bool> StopAsync(CancellationToken deadline)
    {
        if (HasExited) return true;
        _stopping = true;
        if (_pidfd >= 0) Pidfd.SendSignal(_pidfd, BlockedSignals.SIGTERM); // ESRCH: it has just exited, the wait returns at once
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
            _stopping = true;
            await _kill.CancelAsync().ConfigureAwait(false);
            await Settle().ConfigureAwait(false);
        }
        _kill.Dispose();
        int pidfd = Interlocked.Exchange(ref _pidfd, -1);
        if (pidfd >= 0) Native.close(pidfd);
    }

    private async Task<CommandResult> WaitAsync()
    {
        var result = await _task.ConfigureAwait(false);
        if (_stopping) throw new OperationCanceledException($"{Argv[0]} was stopped");
        return new CommandResult(Argv, result.ExitCode, "", _stderr());
    }

    private async Task Settle()
    {
        try { await _task.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }
}
