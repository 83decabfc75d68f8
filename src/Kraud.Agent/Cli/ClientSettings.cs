using System.Collections;
using System.CommandLine;
using Kraud.Agent.Config;
using Kraud.Agent.ControlPlane;
using Kraud.Agent.Kinds;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace Kraud.Agent.Cli;

/// <summary>
/// How `apply` and `get` reach NATS: the agent's configuration when there is one (so on a host they need no
/// flags), else built-in defaults; --server and --host override.
/// </summary>
internal static class ClientSettings
{
    public static readonly Option<string?> Server = new("--server", "-s") { Description = "NATS URL (default: the configuration's nats.servers, else nats://127.0.0.1:4222).", HelpName = "URL" };
    public static readonly Option<string?> Host = new("--host") { Description = "Host id (default: the configuration's host).", HelpName = "H" };

    public static AgentConfig Load(ParseResult parse)
    {
        string? path = parse.GetValue(AgentCli.ConfigOption);
        IDictionary env = DaemonLauncher.Environment();
        string? host = parse.GetValue(Host);
        AgentConfig config;
        try
        {
            config = ConfigLoader.Load(path, env);
        }
        catch (ConfigException e) when (path is null && e.Key.Length == 0 && e.Problem.StartsWith("file not found", StringComparison.Ordinal))
        {
            config = ConfigLoader.Parse($$"""{"host":"{{host ?? "unset"}}"}""", "built-in defaults", env);
            if (host is null && !env.Contains("KRAUD_HOST")) config.Host = "";
        }
        if (host is not null)
        {
            if (!ResourceKey.IdRule().IsMatch(host)) throw new ConfigException("--host", "host", $"\"{host}\" is not a valid host id");
            config.Host = host;
        }
        if (parse.GetValue(Server) is { } server) config.Nats.Servers = [server];
        return config;
    }

    public static async Task<NatsConnection> ConnectAsync(AgentConfig config, CancellationToken ct)
    {
        var connection = new NatsConnection(NatsOptsFactory.Create(config, "kraud-agent cli", NullLoggerFactory.Instance, retryOnInitialConnect: false));
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(ct);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return connection;
    }
}
