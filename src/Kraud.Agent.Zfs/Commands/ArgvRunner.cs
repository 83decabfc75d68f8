using System.Diagnostics;
using System.Text;
using Kraud.Libc;

namespace Kraud.Agent.Zfs.Commands;

/// <summary>
/// Runs a program from an argv array: never a shell, so no word of a name is ever interpreted. Output and error
/// are captured; a time limit kills the whole process; cancellation kills it too.
/// </summary>
public sealed class ArgvRunner
{
    public static readonly ArgvRunner Default = new();

    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Runs to completion and returns the result, whatever the exit code.</summary>
    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        using var process = Start(argv, redirectStdin: stdin is not null, redirectStdout: true);
        var limit = timeout ?? DefaultTimeout;
        var stdoutTask = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderrTask = process.StandardError.ReadToEndAsync(CancellationToken.None);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin.AsMemory(), ct).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        await WaitOrKillAsync(process, argv, limit, stderrTask, ct).ConfigureAwait(false);
        return new CommandResult(argv, process.ExitCode, await stdoutTask.ConfigureAwait(false), await stderrTask.ConfigureAwait(false));
    }

    /// <summary>Runs and throws <see cref="CommandFailedException"/> on a non-zero exit.</summary>
    public async Task<CommandResult> RunCheckedAsync(IReadOnlyList<string> argv, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default) =>
        (await RunAsync(argv, stdin, timeout, ct).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>Starts a process whose binary stdin and/or stdout the caller streams (zfs send / receive).</summary>
    public StreamingCommand StartStreaming(IReadOnlyList<string> argv, bool stdin, bool stdout) =>
        new(argv, Start(argv, stdin, stdout));

    internal static Process Start(IReadOnlyList<string> argv, bool redirectStdin, bool redirectStdout)
    {
        if (argv.Count == 0 || string.IsNullOrEmpty(argv[0])) throw new ArgumentException("empty argv", nameof(argv));
        foreach (var a in argv)
            if (a.Contains('\0')) throw new ArgumentException($"argument contains NUL: {CommandLine.Format(argv)}", nameof(argv));
        var psi = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = redirectStdin,
            RedirectStandardOutput = redirectStdout,
            RedirectStandardError = true,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (redirectStdout) psi.StandardOutputEncoding = Encoding.UTF8;
        for (int i = 1; i < argv.Count; i++) psi.ArgumentList.Add(argv[i]);
        ChildEnvironment.Apply(psi); // none of the agent's configuration or secrets
        // The C locale keeps OpenZFS messages in the English the error mapping reads.
        psi.Environment["LC_ALL"] = "C";
        try
        {
            return Process.Start(psi) ?? throw new IOException($"could not start {argv[0]}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"could not start {CommandLine.Format(argv)}: {e.Message}", e);
        }
    }

    internal static async Task WaitOrKillAsync(Process process, IReadOnlyList<string> argv, TimeSpan limit, Task<string> stderr, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            throw new CommandTimeoutException(argv, limit, await stderr.ConfigureAwait(false));
        }
    }

    internal static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* already gone */ }
    }
}
