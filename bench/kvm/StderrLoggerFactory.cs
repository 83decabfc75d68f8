using Microsoft.Extensions.Logging;

namespace Kraud.Bench.Kvm;

/// <summary>Warnings and errors to stderr: the runner's only logging, so it costs no startup time.</summary>
internal sealed class StderrLoggerFactory : ILoggerFactory, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)}");
    }
}
