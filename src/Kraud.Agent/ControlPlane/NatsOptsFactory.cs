using Kraud.Agent.Config;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Kraud.Agent.ControlPlane;

/// <summary>NATS.Net client options from the agent's configuration.</summary>
public static class NatsOptsFactory
{
    public static NatsOpts Create(AgentConfig config, string name, ILoggerFactory loggers, bool retryOnInitialConnect)
    {
        var nats = config.Nats;
        var nkey = nats.NkeyFile is null ? default : ReadNkeyFile(nats.NkeyFile);
        return NatsOpts.Default with
        {
            Url = string.Join(",", nats.Servers),
            Name = name,
            AuthOpts = new NatsAuthOpts
            {
                Username = nats.User, Password = nats.Password, Token = nats.Token,
                CredsFile = nats.CredsFile,
                // NATS.Net's NKeyFile wants the public key on a line of its own beside the seed, and with a seed-only
                // file (what `nk -gen user` writes) it never connects and says nothing: give it the seed and its key.
                Seed = nkey.Seed, NKey = nkey.PublicKey,
            },
            TlsOpts = new NatsTlsOpts
            {
                CaFile = nats.CaFile, CertFile = nats.CertFile, KeyFile = nats.KeyFile,
                // A CA or client certificate means the operator wants TLS: never fall back to plain text.
                Mode = nats.CaFile is not null || nats.CertFile is not null ? TlsMode.Require : TlsMode.Auto,
            },
            RetryOnInitialConnect = retryOnInitialConnect,
            // Short pings: a dead server must be noticed well inside ack_wait (30 s).
            PingInterval = TimeSpan.FromSeconds(5),
            MaxPingOut = 2,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(5),
            // Reconnect for ever, quickly at first: a host agent must come back on its own after any outage.
            MaxReconnectRetry = -1,
            // NATS.Net gives up for good after two refused authentications in a row; a host agent must keep trying
            // (credentials are often fixed on the server side) and say so on its STATUS line meanwhile.
            IgnoreAuthErrorAbort = true,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ReconnectJitter = TimeSpan.FromMilliseconds(100),
            SerializerRegistry = NatsDefaultSerializerRegistry.Default,
            LoggerFactory = new RedactingLoggerFactory(loggers),
            // A busy host must never drop a message of its own subscriptions silently: wait instead.
            SubPendingChannelFullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
        };
    }

    /// <summary>The user seed (the first line starting with SU) of an NKey file and the public key it belongs to.</summary>
    private static (string? Seed, string? PublicKey) ReadNkeyFile(string path)
    {
        string? seed = File.ReadLines(path).Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("SU", StringComparison.Ordinal));
        if (seed is null) return default; // NATS.Net then fails the connect: nothing to sign with
        using var pair = NATS.NKeys.KeyPair.FromSeed(seed);
        return (seed, pair.GetPublicKey());
    }
}
