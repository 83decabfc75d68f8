using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Tests;

/// <summary>Keeps every log line with the scopes active when it was written, so tests can check both.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    public sealed record Entry(LogLevel Level, string Message, IReadOnlyList<object?> Scopes, Exception? Exception)
    {
        public string? ScopeValue(string key)
        {
            foreach (var s in Scopes)
                if (s is IEnumerable<KeyValuePair<string, object>> kvs)
                    foreach (var kv in kvs) if (kv.Key == key) return kv.Value?.ToString();
            return null;
        }
    }

    private readonly List<Entry> _entries = [];
    private readonly AsyncLocal<ImmutableStack> _scopes = new();

    public IReadOnlyList<Entry> Entries { get { lock (_entries) return _entries.ToArray(); } }

    public string Text => string.Join("\n", Entries.Select(e => $"{e.Level}: {e.Message}{(e.Exception != null ? " " + e.Exception : "")}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private sealed record ImmutableStack(object? Head, ImmutableStack? Tail);

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable BeginScope<TState>(TState state) where TState : notnull
        {
            var previous = owner._scopes.Value;
            owner._scopes.Value = new ImmutableStack(state, previous);
            return new Pop(() => owner._scopes.Value = previous!);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<object?>();
            for (var s = owner._scopes.Value; s != null; s = s.Tail) scopes.Add(s.Head);
            lock (owner._entries) owner._entries.Add(new Entry(logLevel, formatter(state, exception), scopes, exception));
        }
    }

    private sealed class Pop(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
