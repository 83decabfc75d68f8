using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Kraud.Systemd;

internal sealed class JournaldLogger(JournaldLoggerProvider provider, string category) : ILogger
{
    [ThreadStatic] private static JournalEntry? t_entry;
    private ILogger? _fallback;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider.Scopes.Push(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var entry = t_entry ??= new JournalEntry();
        entry.Clear();

        string message = formatter(state, exception);
        // Escaped: text from outside must not forge a field or a line (LogText); newlines stay, in the binary-safe form.
        message = LogText.Escape(message, keepNewlines: true);
        entry.Add("MESSAGE", exception is null ? message : $"{message}\n{LogText.Escape(exception.ToString(), keepNewlines: true)}");
        entry.Add("PRIORITY", Priority(logLevel));
        entry.Add("SYSLOG_IDENTIFIER", provider.Identifier);
        entry.Add("KRAUD_CATEGORY", category);
        if (eventId.Id != 0) entry.Add("KRAUD_EVENT_ID", eventId.Id.ToString(CultureInfo.InvariantCulture));
        if (exception is IOException { HResult: > 0 and < 4096 } io) entry.Add("ERRNO", io.HResult.ToString(CultureInfo.InvariantCulture));

        provider.Scopes.ForEachScope(static (scope, e) => AddFields(scope, e), entry);
        AddFields(state, entry);

        if (!provider.Socket.Send(entry.Written))
        {
            _fallback ??= provider.Fallback?.CreateLogger(category);
            _fallback?.Log(logLevel, eventId, state, exception, formatter);
        }
    }

    private static void AddFields(object? state, JournalEntry entry)
    {
        if (state is not IEnumerable<KeyValuePair<string, object?>> pairs) return;
        foreach (var (key, value) in pairs)
        {
            if (value is null || key == "{OriginalFormat}") continue;
            string? field = JournalEntry.FieldName(key);
            if (field is null) continue;
            entry.Add(field, LogText.Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", keepNewlines: true));
        }
    }

    internal static string Priority(LogLevel level) => level switch
    {
        LogLevel.Critical => "2",
        LogLevel.Error => "3",
        LogLevel.Warning => "4",
        LogLevel.Information => "6",
        _ => "7",
    };
}
