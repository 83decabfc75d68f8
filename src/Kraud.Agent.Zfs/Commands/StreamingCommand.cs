using System.Diagnostics;

namespace Kraud.Agent.Zfs.Commands;

/// <summary>A running command whose binary stdin/stdout the caller pumps; stderr is collected for the error.</summary>
public sealed class StreamingCommand : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    internal StreamingCommand(IReadOnlyList<string> argv, Process process)
    {
        Argv = argv;
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
    }

    public IReadOnlyList<string> Argv { get; }
    public Stream Stdin => _process.StandardInput.BaseStream;
    public Stream Stdout => _process.StandardOutput.BaseStream;
    public int ProcessId => _process.Id;

    /// <summary>Waits for the exit; returns the result (not checked).</summary>
    public async Task<CommandResult> WaitAsync(TimeSpan limit, CancellationToken ct = default)
    {
        await ArgvRunner.WaitOrKillAsync(_process, Argv, limit, _stderr, ct).ConfigureAwait(false);
        return new CommandResult(Argv, _process.ExitCode, "", await _stderr.ConfigureAwait(false));
    }

    public void Kill() => ArgvRunner.Kill(_process);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        _process.Dispose();
    }
}
