using Microsoft.Extensions.Logging;

namespace Kraud.Testing;

/// <summary>One logged line with the scope values in force when it was logged (what become KRAUD_* journal fields).</summary>
public sealed record LoggedLine(LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Scope);

/// <summary>Keeps every line in memory, scopes included, so tests can assert what the journal would get.</summary>
public sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly AsyncLocal<ImmutableStack?> _scopes = new();
    private readonly List<LoggedLine> _lines = [];

    public IReadOnlyList<LoggedLine> Lines { get { lock (_lines) return _lines.ToList(); } }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull
    {
        var outer = _scopes.Value;
        _scopes.Value = new ImmutableStack(state, outer);
        return new Pop(() => _scopes.Value = outer);
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var scope = new Dictionary<string, object?>();
        var frames = new List<object>();
        for (var s = _scopes.Value; s is not null; s = s.Next) frames.Add(s.State);
        frames.Reverse();
        foreach (var f in frames)
            if (f is IEnumerable<KeyValuePair<string, object?>> kvs)
                foreach (var (k, v) in kvs) scope[k] = v;
        lock (_lines) _lines.Add(new LoggedLine(logLevel, formatter(state, exception), scope));
    }

    private sealed record ImmutableStack(object State, ImmutableStack? Next);

    private sealed class Pop(Action pop) : IDisposable
    {
        public void Dispose() => pop();
    }
}
