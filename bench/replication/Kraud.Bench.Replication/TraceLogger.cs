using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Kraud.Bench.Replication;

/// <summary>
/// `--trace`: every program the bench's runner starts (zfs, bash), with the seconds since the bench began, so the
/// fixed cost of a pass can be told apart into process starts and the rest.
/// </summary>
public sealed class TraceLogger : ILogger
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string line = formatter(state, exception);
        if (line.Contains(" started: ", StringComparison.Ordinal)) Console.WriteLine($"trace +{_clock.Elapsed.TotalSeconds:F2}s {line}");
    }
}
