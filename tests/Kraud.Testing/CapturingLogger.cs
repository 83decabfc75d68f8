using Microsoft.Extensions.Logging;

namespace Kraud.Testing;

/// <summary>One logged line with the scope values in force when it was logged (what become KRAUD_* journal fields).</summary>
public sealed record LoggedLine(LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Scope, Exception? Exception = null)
{
    public string? ScopeValue(string key) => Scope.TryGetValue(key, out var v) ? v?.ToString() : null;
}

/// <summary>Keeps every line in memory, scopes included, so tests can assert what the journal would get.</summary>
public class CapturingLogger : ILogger
{
    private readonly AsyncLocal<ScopeFrame?> _scopes = new();
    private readonly List<LoggedLine> _lines = [];

    public IReadOnlyList<LoggedLine> Lines { get { lock (_lines) return _lines.ToList(); } }

    /// <summary>Every line as "Level: message", for assertion messages.</summary>
    public string Text => string.Join("\n", Lines.Select(l => $"{l.Level}: {l.Message}{(l.Exception is null ? "" : " " + l.Exception)}"));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull
    {
        var outer = _scopes.Value;
        _scopes.Value = new ScopeFrame(state, outer);
        return new Pop(() => _scopes.Value = outer);
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var frames = new List<object>();
        for (var s = _scopes.Value; s is not null; s = s.Outer) frames.Add(s.State);
        frames.Reverse();
        var scope = new Dictionary<string, object?>();
        foreach (var f in frames)
            if (f is IEnumerable<KeyValuePair<string, object?>> nullable) foreach (var (k, v) in nullable) scope[k] = v;
            else if (f is IEnumerable<KeyValuePair<string, object>> plain) foreach (var (k, v) in plain) scope[k] = v;
        lock (_lines) _lines.Add(new LoggedLine(logLevel, formatter(state, exception), scope, exception));
    }

    private sealed record ScopeFrame(object State, ScopeFrame? Outer);

    private sealed class Pop(Action pop) : IDisposable
    {
        public void Dispose() => pop();
    }
}

/// <summary>A <see cref="CapturingLogger"/> where an <see cref="ILogger{TCategoryName}"/> is asked for.</summary>
public sealed class CapturingLogger<T> : CapturingLogger, ILogger<T>;

/// <summary>Every logger it creates writes into one <see cref="CapturingLogger"/>, for code that takes an <see cref="ILoggerFactory"/>.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    public CapturingLogger Sink { get; } = new();

    public IReadOnlyList<LoggedLine> Lines => Sink.Lines;

    public string Text => Sink.Text;

    public ILogger CreateLogger(string categoryName) => Sink;

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }
}
