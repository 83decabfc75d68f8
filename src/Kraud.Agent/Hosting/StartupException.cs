namespace Kraud.Agent.Hosting;

/// <summary>The daemon cannot start: carries the exit code (69 unavailable, 78 configuration) and one clear line.</summary>
public sealed class StartupException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
