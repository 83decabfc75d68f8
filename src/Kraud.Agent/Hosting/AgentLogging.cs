using Kraud.Agent.Config;
using Kraud.Systemd;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Hosting;

/// <summary>Chooses where logs go: the journal's native protocol under systemd, readable lines on stderr otherwise.</summary>
public static class AgentLogging
{
    public const string Identifier = "kraud-agent";

    public static ILoggerFactory Create(LogConfig log)
    {
        // The validator has refused any other name; Information is only the default of an unset level.
        var level = LogLevels.Parse(log.Level) ?? LogLevel.Information;
        bool journal = log.Target == "journal" || (log.Target == "auto" && JournalStream.StderrIsJournal());
        ILoggerProvider provider = journal
            ? new JournaldLoggerProvider(new JournalSocket(log.JournalSocket), Identifier, fallback: new StderrLoggerProvider())
            : new StderrLoggerProvider();
        // NATS.Net says every connect and every server INFO at information: its warnings and errors are what an
        // operator needs (the agent logs connects and losses itself); at debug and below it says everything.
        var natsLevel = level <= LogLevel.Debug ? level : LogLevel.Warning;
        return LoggerFactory.Create(b => b.SetMinimumLevel(level).AddFilter("NATS", natsLevel).AddProvider(provider));
    }
}
