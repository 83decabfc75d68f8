using Kraud.Agent.Config;
using Kraud.Nats;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Work;

/// <summary>Client options from the agent's configuration.</summary>
public static class NatsOptsFactory
{
    public static NatsOpts Create(AgentConfig config, string name, ILoggerFactory loggers, bool retryOnInitialConnect) => new()
    {
        Url = string.Join(",", config.Nats.Servers),
        Name = name,
        AuthOpts = new NatsAuthOpts { Username = config.Nats.User, Password = config.Nats.Password, Token = config.Nats.Token },
        TlsOpts = config.Nats.CaFile is null ? NatsTlsOpts.Default : new NatsTlsOpts { CaFile = config.Nats.CaFile },
        RetryOnInitialConnect = retryOnInitialConnect,
        // Short pings: a dead server must be noticed well inside ack_wait (30 s).
        PingInterval = TimeSpan.FromSeconds(5),
        MaxPingOut = 2,
        LoggerFactory = loggers,
    };
}
