using System.Globalization;
using System.Text;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Systemd;

/// <summary>
/// Readable one-line-per-entry logs on stderr for a terminal or a test:
/// <c>21:04:05.123 info  Kraud.Agent.ControlPlane.WorkEngine: reconciled  kind=Volume id=vol-7f3a</c>.
/// Scope values follow the message as key=value pairs; an exception follows on indented lines. Text from outside
/// is escaped (<see cref="LogText"/>): one entry is one line, whatever a message or value contains.
/// Without a writer, each entry is one write(2) to fd 2 (no System.Console: kraud-vmm stays small).
/// </summary>
public sealed class StderrLoggerProvider(TextWriter? writer = null) : ILoggerProvider, ISupportExternalScope
{
    private readonly TextWriter? _writer = writer;
    private readonly Lock _gate = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new StderrLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() => _writer?.Flush();

    private sealed class StderrLogger(StderrLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var sb = new StringBuilder(128);
            AppendTime(sb, DateTime.UtcNow).Append(' ')
              .Append(Level(logLevel)).Append(' ').Append(category).Append(": ")
              .Append(OneLine(formatter(state, exception)));
            bool first = true;
            provider._scopes.ForEachScope((scope, b) =>
            {
                if (scope is not IEnumerable<KeyValuePair<string, object?>> pairs) return;
                foreach (var (k, v) in pairs)
                {
                    if (k == "{OriginalFormat}" || v is null) continue;
                    b.Append(first ? "  " : " ").Append(OneLine(char.ToLowerInvariant(k[0]) + k[1..])).Append('=')
                     .Append(OneLine(Convert.ToString(v, CultureInfo.InvariantCulture) ?? ""));
                    first = false;
                }
            }, sb);
            if (exception is not null)
                sb.Append('\n').Append("    ").Append(LogText.Escape(exception.ToString().ReplaceLineEndings("\n"), keepNewlines: true).Replace("\n", "\n    "));
            sb.Append('\n');
            lock (provider._gate)
            {
                if (provider._writer is null) Native.WriteAll(2, Encoding.UTF8.GetBytes(sb.ToString()));
                else
                {
                    provider._writer.Write(sb.ToString());
                    provider._writer.Flush();
                }
            }
        }

        /// <summary>Text from outside as part of one line: line breaks become " | ", other controls are escaped (LogText).</summary>
        private static string OneLine(string text) => LogText.Escape(text.ReplaceLineEndings(" | "), keepNewlines: false);

        // HH:mm:ss.fff by hand: DateTime's format strings bring the whole formatting and parsing engine along.
        private static StringBuilder AppendTime(StringBuilder sb, DateTime t) =>
            Two(Two(Two(sb, t.Hour).Append(':'), t.Minute).Append(':'), t.Second).Append('.')
                .Append((char)('0' + t.Millisecond / 100)).Append((char)('0' + t.Millisecond / 10 % 10)).Append((char)('0' + t.Millisecond % 10));

        private static StringBuilder Two(StringBuilder sb, int n) => sb.Append((char)('0' + n / 10)).Append((char)('0' + n % 10));

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
