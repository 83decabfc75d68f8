using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Kraud.Systemd;

/// <summary>
/// Readable one-line-per-entry logs on stderr for a terminal or a test:
/// <c>21:04:05.123 info  Kraud.Agent.Work: reconciled  kind=Volume id=vol-7f3a</c>.
/// Scope values follow the message as key=value pairs; an exception follows on indented lines.
/// </summary>
public sealed class StderrLoggerProvider(TextWriter? writer = null) : ILoggerProvider, ISupportExternalScope
{
    private readonly TextWriter _writer = writer ?? Console.Error;
    private readonly Lock _gate = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new StderrLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() => _writer.Flush();

    private sealed class StderrLogger(StderrLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var sb = new StringBuilder(128);
            sb.Append(DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)).Append(' ')
              .Append(Level(logLevel)).Append(' ').Append(category).Append(": ")
              .Append(formatter(state, exception).ReplaceLineEndings(" | "));
            bool first = true;
            provider._scopes.ForEachScope((scope, b) =>
            {
                if (scope is not IEnumerable<KeyValuePair<string, object?>> pairs) return;
                foreach (var (k, v) in pairs)
                {
                    if (k == "{OriginalFormat}" || v is null) continue;
                    b.Append(first ? "  " : " ").Append(char.ToLowerInvariant(k[0])).Append(k, 1, k.Length - 1).Append('=')
                     .Append(Convert.ToString(v, CultureInfo.InvariantCulture));
                    first = false;
                }
            }, sb);
            if (exception is not null) sb.Append('\n').Append("    ").Append(exception.ToString().ReplaceLineEndings("\n    "));
            sb.Append('\n');
            lock (provider._gate)
            {
                provider._writer.Write(sb.ToString());
                provider._writer.Flush();
            }
        }

        private static string Level(LogLevel l) => l switch
        {
            LogLevel.Critical => "crit ",
            LogLevel.Error => "error",
            LogLevel.Warning => "warn ",
            LogLevel.Information => "info ",
            LogLevel.Debug => "debug",
            _ => "trace",
        };
    }
}
