using Microsoft.Extensions.Logging;

namespace Kraud.Systemd;

/// <summary>
/// One provider behind a minimum level, without Microsoft.Extensions.Logging's factory: small processes such as
/// kraud-vmm log through the same journald and stderr providers as the agent without its start-up cost.
/// </summary>
public sealed class MinimumLevelLoggerFactory(ILoggerProvider provider, LogLevel minimum) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Filtered(provider.CreateLogger(categoryName), minimum);

    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("MinimumLevelLoggerFactory has exactly one provider");

    public void Dispose() => provider.Dispose();

    private sealed class Filtered(ILogger inner, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
