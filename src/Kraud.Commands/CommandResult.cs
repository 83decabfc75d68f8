namespace Kraud.Commands;

/// <summary>How a command ended: its exit code and everything it printed.</summary>
public sealed record CommandResult(IReadOnlyList<string> Argv, int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Returns this result, or throws <see cref="CommandFailedException"/> naming the command and its stderr.</summary>
    public CommandResult EnsureSuccess() => Succeeded ? this : throw new CommandFailedException(this);
}

/// <summary>A command that exited non-zero; the message carries the argv, the exit code and stderr.</summary>
public sealed class CommandFailedException(CommandResult result)
    : IOException($"{CommandLine.Format(result.Argv)} exited {result.ExitCode}: {FirstLines(result.Stderr)}")
{
    public CommandResult Result { get; } = result;

    private static string FirstLines(string s)
    {
        s = s.Trim();
        if (s.Length == 0) return "(no error output)";
        return s.Length > 2000 ? s[..2000] + "…" : s;
    }
}

/// <summary>A command stopped because it ran past its time limit.</summary>
public sealed class CommandTimeoutException(IReadOnlyList<string> argv, TimeSpan limit, string stderr)
    : TimeoutException($"{CommandLine.Format(argv)} did not finish within {limit.TotalSeconds:0.#} s and was killed{(stderr.Trim().Length > 0 ? ": " + stderr.Trim() : "")}")
{
    public IReadOnlyList<string> Argv { get; } = argv;
}

public static class CommandLine
{
    /// <summary>For messages only: the argv shown quoted where needed. Never executed.</summary>
    public static string Format(IReadOnlyList<string> argv) =>
        string.Join(' ', argv.Select(a => a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./@#:=,%+".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'"));
}
