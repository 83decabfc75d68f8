using Kraud.Agent.Composition;
using System.Collections;
using Kraud.Agent.Config;
using Kraud.Agent.Hosting;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Cli;

/// <summary>Loads configuration and runs the daemon, turning startup failures into one clear line and an exit code.</summary>
internal static class DaemonLauncher
{
    public static async Task<int> RunAsync(Func<AgentConfig> loadConfig, Func<AgentConfig, ILoggerFactory, IReadOnlyList<IAgentService>>? before = null)
    {
        AgentConfig config;
        try
        {
            config = loadConfig();
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine("kraud-agent: " + e.Message);
            return ExitCodes.Config;
        }

        using var loggers = AgentLogging.Create(config.Log);
        var log = loggers.CreateLogger("Kraud.Agent");
        try
        {
            return await Daemon.RunAsync(config, loggers, before?.Invoke(config, loggers));
        }
        catch (StartupException e)
        {
            log.LogCritical("cannot start: {Reason}", e.Message);
            Console.Error.WriteLine("kraud-agent: " + e.Message);
            return e.ExitCode;
        }
        catch (Exception e)
        {
            log.LogCritical(e, "crashed");
            return ExitCodes.Failure;
        }
    }

    public static IDictionary Environment() => System.Environment.GetEnvironmentVariables();
}
