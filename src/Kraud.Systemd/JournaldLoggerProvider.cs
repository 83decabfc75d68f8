using Microsoft.Extensions.Logging;

namespace Kraud.Systemd;

/// <summary>
/// Logs to journald in its native protocol: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, KRAUD_CATEGORY, and every
/// scope and message-template value as an upper-case KRAUD_* field, so operators can filter with
/// <c>journalctl KRAUD_KIND=Volume KRAUD_ID=vol-7f3a</c>. When journald cannot be reached, the entry goes to
/// <paramref name="fallback"/> so nothing is lost.
/// </summary>
public sealed class JournaldLoggerProvider(JournalSocket socket, string identifier, ILoggerProvider? fallback = null)
    : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    internal JournalSocket Socket => socket;
    internal string Identifier => identifier;
    internal IExternalScopeProvider Scopes => _scopes;
    internal ILoggerProvider? Fallback => fallback;

    public ILogger CreateLogger(string categoryName) => new JournaldLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
        _scopes = scopeProvider;
        if (fallback is ISupportExternalScope s) s.SetScopeProvider(scopeProvider);
    }

    public void Dispose()
    {
        socket.Dispose();
        fallback?.Dispose();
    }
}
