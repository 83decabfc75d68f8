using Kraud.Agent.Config;
using Kraud.Oci;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>The Pod kind as the daemon builds it from its configuration: child-process VMs (the systemd backend is to come).</summary>
public static class PodKind
{
    public static PodReconciler Create(AgentConfig config, ILoggerFactory loggers)
    {
        var log = loggers.CreateLogger("Kraud.Agent.Kinds.Pod");
        var options = new PodOptions
        {
            GuestDir = config.GuestDir,
            ImagesDir = Path.Combine(config.StateDir, "images"),
            Registries = config.Registries.Select(r => new RegistryOptions
            {
                Host = r.Host, CaFile = r.CaFile, Username = r.Username, Password = r.Password, PlainHttp = r.PlainHttp,
            }).ToList(),
            TrustedImageKeys = config.TrustedImageKeys.Select(BaliIdentity.Parse).ToList(),
            ImageCacheMaxBytes = config.ImageCache.MaxBytes,
            ImageCacheGrace = TimeSpan.FromSeconds(config.ImageCache.GraceSeconds),
        };
        // Without kraud-vmm beside the agent a pod fails at its start (transient, naming the path), not the daemon.
        string vmm = ChildProcessVmSupervisor.LocateVmm() ?? "/usr/bin/kraud-vmm";
        // Shares (nfs volumes) need Debian's virtiofsd; without it a pod with one fails naming the volume.
        var shares = File.Exists(ChildProcessShareDaemons.DebianVirtiofsd) ? new ChildProcessShareDaemons(ChildProcessShareDaemons.DebianVirtiofsd, log) : null;
        return new PodReconciler(options, new ChildProcessVmSupervisor(vmm, options.RunDir, logger: log), new PodTap(), log) { ShareDaemons = shares };
    }
}
