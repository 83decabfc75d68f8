using Kraud.Agent.Config;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// The logger factory handed to NATS.Net: its lines name server URLs, which may carry credentials, so each line
/// is formatted and redacted (<see cref="Redaction.Urls"/>) before it reaches the agent's log.
/// </summary>
public sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The agent's factory outlives every connection; it is not ours to dispose.
    }

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel)) return;
            string message = Redaction.Urls(formatter(state, exception));
            string? error = exception is null ? null : Redaction.Urls(exception.Message);
            if (error is null) inner.Log(logLevel, eventId, "{Message}", message);
            else inner.Log(logLevel, eventId, "{Message}: {Error}", message, error);
        }
    }
}
