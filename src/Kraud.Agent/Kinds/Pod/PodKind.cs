using Kraud.Agent.Config;
using Kraud.Oci;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// The Pod kind as the daemon builds it from its configuration. Its VMs run as systemd units when systemd is PID 1
/// (`vmSupervisor` auto or systemd), else as the agent's children (`dev`, tests, hosts without systemd).
/// </summary>
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
            AllocatableVcpus = config.AllocatableVcpus > 0 ? config.AllocatableVcpus : null,
        };
        var supervisor = Supervisor(config.VmSupervisor, options.RunDir, log);
        // Shares (nfs volumes) need Debian's virtiofsd: under systemd as kraud-virtiofsd@ units bound to the VM's (as the agent's
        // children they would be in its cgroup and die with an agent restart while their VMs run on), else as the agent's children.
        string virtiofsd = ChildProcessShareDaemons.DebianVirtiofsd;
        IShareDaemons? shares = !File.Exists(virtiofsd) ? null
            : supervisor is SystemdVmSupervisor units ? new SystemdShareDaemons(units, virtiofsd, log)
            : new ChildProcessShareDaemons(virtiofsd, log);
        return new PodReconciler(options, supervisor, new PodTap(), log)
        {
            ShareDaemons = shares,
            NoSharesReason = shares is null ? $"{virtiofsd} is missing (Debian's qemu-system-common)" : null,
        };
    }

    /// <summary>Whether systemd runs this host (PID 1): what `vmSupervisor: auto` decides by.</summary>
    public static bool SystemdIsPid1 => Directory.Exists("/run/systemd/system");

    private static IVmSupervisor Supervisor(string choice, string runDir, ILogger log)
    {
        if (choice == "systemd" || (choice == "auto" && SystemdIsPid1))
        {
            log.LogInformation("pods' VMs run as systemd units (kraud-vm@<id>.service)");
            return new SystemdVmSupervisor(runDir, log);
        }
        // Without kraud-vmm beside the agent a pod fails at its start (transient, naming the path), not the daemon.
        string vmm = ChildProcessVmSupervisor.LocateVmm() ?? "/usr/bin/kraud-vmm";
        return new ChildProcessVmSupervisor(vmm, runDir, logger: log);
    }
}
