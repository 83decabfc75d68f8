using System.Diagnostics;
using System.Text;

namespace Kraud.Lane.Tests;

/// <summary>What a finished process left behind.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs a command from an argv array (never a shell), collecting its output, killed at a deadline.</summary>
public static class ProcessRun
{
    public static async Task<ProcessResult> RunAsync(IReadOnlyList<string> argv, TimeSpan limit, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.Start();
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();

        using var cts = new CancellationTokenSource(limit);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            throw new TimeoutException($"{string.Join(' ', argv)} did not end within {limit.TotalSeconds:0} s\n{stdout}\n{stderr}");
        }
        // WaitForExitAsync also waits for the redirected streams to reach their end.
        lock (stdout) lock (stderr)
            return new ProcessResult(p.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }
}
