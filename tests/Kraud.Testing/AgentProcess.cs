using System.Collections.Concurrent;
using System.Diagnostics;

namespace Kraud.Testing;

/// <summary>A `kraud-agent` process started by a test: its output lines, signals, and exit.</summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private AgentProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _stdout.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts the binary with <paramref name="args"/>; <paramref name="env"/> values of null remove a variable.</summary>
    public static AgentProcess Start(IEnumerable<string> args, IDictionary<string, string?>? env = null, string? binary = null)
    {
        var psi = new ProcessStartInfo(binary ?? AgentBinary.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // A test's own environment must not leak systemd or agent settings into the child.
        foreach (string k in psi.Environment.Keys.ToList())
            if (k.StartsWith("KRAUD_", StringComparison.Ordinal) || k is "NOTIFY_SOCKET" or "WATCHDOG_USEC" or "WATCHDOG_PID" or "JOURNAL_STREAM")
                psi.Environment.Remove(k);
        if (env is not null)
            foreach (var (k, v) in env)
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
        return new AgentProcess(Process.Start(psi)!);
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public IReadOnlyList<string> Stdout => _stdout.ToArray();
    public IReadOnlyList<string> Stderr => _stderr.ToArray();

    public void Signal(int sig) => ProcessSignals.Send(_process.Id, sig);

    /// <summary>Waits for the exit and returns the code; kills the process and fails when it does not exit in time.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kraud-agent did not exit within {timeout.TotalSeconds} s; stderr:\n{string.Join('\n', Stderr)}");
        }
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
