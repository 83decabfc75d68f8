using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using CliWrap;
using Kraud.Libc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Commands;

/// <summary>
/// Runs a program from an argv array through CliWrap: never a shell, so no word of a name is ever interpreted, and
/// the argv reaches execve as given (no quoting and re-parsing on the way). The child gets only the allow-listed
/// environment (<see cref="ChildEnvironment"/>) plus <see cref="Variables"/>. Its stderr, and its stdout when
/// nobody reads it, go line by line to <see cref="Logger"/> with the command named; stderr is also kept for the
/// error. A time limit kills the whole process tree; cancellation kills it too.
/// </summary>
public sealed class ArgvRunner
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>No logging, the default time limit, no variables beyond the allow-list.</summary>
    public static readonly ArgvRunner Default = new();

    public ArgvRunner(ILogger? logger = null) : this(logger ?? NullLogger.Instance, new Dictionary<string, string>(StringComparer.Ordinal))
    {
    }

    private ArgvRunner(ILogger logger, IReadOnlyDictionary<string, string> variables)
    {
        Logger = logger;
        Variables = variables;
    }

    public ILogger Logger { get; }

    /// <summary>Set in every child on top of the allowed part of ours (zfs: LC_ALL=C).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; }

    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The level of the output lines written to <see cref="Logger"/>.</summary>
    public LogLevel OutputLevel { get; init; } = LogLevel.Debug;

    /// <summary>This runner, with <paramref name="name"/>=<paramref name="value"/> in every child's environment.</summary>
    public ArgvRunner WithVariable(string name, string value)
    {
        if (name.Length == 0 || name.Contains('=') || name.Contains('\0') || value.Contains('\0')) throw new ArgumentException($"not an environment variable: {name}", nameof(name));
        return new ArgvRunner(Logger, new Dictionary<string, string>(Variables.ToDictionary(), StringComparer.Ordinal) { [name] = value })
        {
            DefaultTimeout = DefaultTimeout,
            OutputLevel = OutputLevel,
        };
    }

    /// <summary>Runs to completion and returns the result, whatever the exit code. Stdout is captured, not logged.</summary>
    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var stdout = new StringBuilder();
        var r = await RunPipedAsync(argv, stdin is null ? null : PipeSource.FromString(stdin, Utf8), PipeTarget.ToStringBuilder(stdout, Utf8), timeout, ct)
            .ConfigureAwait(false);
        return r with { Stdout = stdout.ToString() };
    }

    /// <summary>Runs and throws <see cref="CommandFailedException"/> on a non-zero exit.</summary>
    public async Task<CommandResult> RunCheckedAsync(IReadOnlyList<string> argv, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default) =>
        (await RunAsync(argv, stdin, timeout, ct).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>
    /// Runs with stdin from <paramref name="stdin"/> (none: empty) and stdout into <paramref name="stdout"/> (none: the
    /// log), streamed in chunks, never held whole (zfs send / receive). The result's Stdout is empty. An exception of
    /// a pipe propagates once the process is gone; a reader that stops reading closes the pipe, so the writer ends.
    /// </summary>
    public async Task<CommandResult> RunPipedAsync(IReadOnlyList<string> argv, PipeSource? stdin, PipeTarget? stdout, TimeSpan? timeout = null,
        CancellationToken ct = default)
    {
        var limit = timeout ?? DefaultTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (limit != Timeout.InfiniteTimeSpan) cts.CancelAfter(limit);
        var started = Start(argv, stdin, stdout, name: null, cts.Token);
        try
        {
            int exitCode = (await started.Task.ConfigureAwait(false)).ExitCode;
            return new CommandResult(argv, exitCode, "", started.Stderr);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            ct.ThrowIfCancellationRequested();
            throw;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new CommandTimeoutException(argv, limit, started.Stderr);
        }
    }

    /// <summary>
    /// Starts a long-running program (nats-server in `dev`, virtiofsd) with no time limit: both its outputs go to the
    /// log. <see cref="RunningCommand.StopAsync"/> sends it SIGTERM, then kills its process tree at the deadline.
    /// </summary>
    public RunningCommand Start(IReadOnlyList<string> argv, string? name = null)
    {
        var kill = new CancellationTokenSource();
        try
        {
            var started = Start(argv, stdin: null, stdout: null, name, kill.Token);
            // Opened at once, while the child cannot have been reaped: the stop's signal then never reaches a process
            // that reused its pid. -1 (ESRCH) when it is already gone; there is nothing to signal then.
            int pidfd = Pidfd.Open(started.ProcessId);
            return new RunningCommand(argv, started.ProcessId, pidfd, started.Task, started.ReadStderr, kill);
        }
        catch
        {
            kill.Dispose();
            throw;
        }
    }

    private Started Start(IReadOnlyList<string> argv, PipeSource? stdin, PipeTarget? stdout, string? name, CancellationToken kill)
    {
        Check(argv);
        string command = name ?? Path.GetFileName(argv[0]);
        var stderr = new StringBuilder();
        int pid = 0;
        void Line(string line) => Logger.Log(OutputLevel, "{Command}[{Pid}]: {Line}", command, Volatile.Read(ref pid), line);
        var cli = Cli.Wrap(argv[0])
            .WithEnvironmentVariables(ChildEnvironment.Overrides(Variables))
            .WithStandardInputPipe(stdin ?? PipeSource.Null)
            .WithStandardOutputPipe(stdout ?? PipeTarget.ToDelegate(Line, Utf8))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line =>
            {
                lock (stderr) stderr.Append(line).Append('\n');
                Line(line);
            }, Utf8))
            .WithValidation(CommandResultValidation.None);
        try
        {
            // The argv goes into ArgumentList word by word: no command line string is built and split again.
            var task = cli.ExecuteAsync(psi => SetArguments(psi, argv), p => Volatile.Write(ref pid, p.Id), kill, CancellationToken.None);
            if (Logger.IsEnabled(LogLevel.Debug)) Logger.LogDebug("{Command}[{Pid}] started: {CommandLine}", command, task.ProcessId, CommandLine.Format(argv));
            return new Started(task.ProcessId, task.Task, () => { lock (stderr) return stderr.ToString(); });
        }
        catch (Win32Exception e)
        {
            throw new IOException($"could not start {CommandLine.Format(argv)}: {(e.InnerException ?? e).Message}", e);
        }
    }

    private static void SetArguments(ProcessStartInfo psi, IReadOnlyList<string> argv)
    {
        psi.Arguments = "";
        psi.ArgumentList.Clear();
        for (int i = 1; i < argv.Count; i++) psi.ArgumentList.Add(argv[i]);
    }

    private static void Check(IReadOnlyList<string> argv)
    {
        if (argv.Count == 0 || string.IsNullOrEmpty(argv[0])) throw new ArgumentException("empty argv", nameof(argv));
        foreach (var a in argv)
            if (a.Contains('\0')) throw new ArgumentException($"argument contains NUL: {CommandLine.Format(argv)}", nameof(argv));
    }

    private sealed class Started(int processId, Task<CliWrap.CommandResult> task, Func<string> readStderr)
    {
        public int ProcessId { get; } = processId;
        public Task<CliWrap.CommandResult> Task { get; } = task;
        public Func<string> ReadStderr { get; } = readStderr;
        public string Stderr => ReadStderr();
    }
}
