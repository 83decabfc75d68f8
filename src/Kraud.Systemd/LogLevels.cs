using Microsoft.Extensions.Logging;

namespace Kraud.Systemd;

/// <summary>The log level names both binaries accept (config `log.level`, `kraud-vmm --log-level`): one list, one parser.</summary>
public static class LogLevels
{
    public const string Accepted = "trace, debug, information (or info), warning or error";

    /// <summary>The level a name stands for, or null for a name that is not one of <see cref="Accepted"/>.</summary>
    public static LogLevel? Parse(string? name) => name switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "information" or "info" => LogLevel.Information,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => null,
    };
}
