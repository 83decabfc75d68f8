using Kraud.Agent.Config;
using Kraud.Agent.ControlPlane;
using Kraud.Agent.Host;
using Kraud.Agent.Hosting;
using Kraud.Agent.Kinds;
using Kraud.Agent.Kinds.Volume;
using Kraud.Systemd;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Composition;

/// <summary>Composes the daemon from a validated configuration: startup checks, then the services, until a signal.</summary>
public static class Daemon
{
    public static async Task<int> RunAsync(AgentConfig config, ILoggerFactory loggers, IReadOnlyList<IAgentService>? before = null)
    {
        var log = loggers.CreateLogger("Kraud.Agent.Daemon");
        using var notifier = SystemdNotifier.FromEnvironment();
        var status = new AgentStatus(notifier, loggers.CreateLogger<AgentStatus>());
        status.Set("Starting: checking the host");

        var stateDir = HostProbes.StateDir(config);
        if (!stateDir.Ok) throw new StartupException(ExitCodes.Unavailable, $"state directory: {stateDir.Detail} ({stateDir.Fix})");

        var services = new List<IAgentService>();
        if (before is not null) services.AddRange(before);
        var storage = ZfsStorage.Create(TimeProvider.System, loggers, config);
        var kinds = BuiltInKinds.Create(config, loggers, storage);
        var engine = new ControlPlaneService(config, new ReconcilerRegistry(kinds.Reconcilers), kinds.Reports, kinds.Inventories, status, loggers);
        foreach (var user in kinds.StatusAmenderUsers) user(engine);
        // Before the engine: the exports file is reconciled before any Volume reconcile touches it.
        services.Add(StorageService.Create(storage.Volumes, storage.Scheduler, storage.Present.Current,
            new SnapshotStatusUpdater(engine, loggers.CreateLogger<SnapshotStatusUpdater>()), loggers.CreateLogger<StorageService>()));
        if (storage.Replication is not null) services.Add(storage.Replication);
        // Before the engine, which may wait long for NATS: what runs on the host is followed from the start.
        services.AddRange(kinds.Services);
        services.Add(engine);

        var host = new AgentHost(services, notifier, status, TimeSpan.FromSeconds(config.ShutdownGraceSeconds), loggers.CreateLogger<AgentHost>());
        log.LogInformation("kraud-agent {Version} starting for host {Host}, NATS {Servers}, state {StateDir}",
            AgentVersion.Value, config.Host, Redaction.Servers(config.Nats.Servers), config.StateDir);
        return await host.RunAsync();
    }
}
