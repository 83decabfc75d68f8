namespace Kraud.Agent.Config;

/// <summary>The agent's configuration (contract section 6), after file, environment and command line.</summary>
public sealed class AgentConfig
{
    public const string DefaultPath = "/etc/kraud/agent.json";

    /// <summary>Where it came from, for error messages: a file path or "built-in defaults".</summary>
    public string Source { get; set; } = "built-in defaults";

    public string Host { get; set; } = "";
    public NatsConfig Nats { get; set; } = new();
    public string StateDir { get; set; } = "/var/lib/kraud";
    public int Concurrency { get; set; } = 8;
    public int ShutdownGraceSeconds { get; set; } = 20;
    public int Replicas { get; set; } = 1;
    public LogConfig Log { get; set; } = new();
    /// <summary>The Pod kind: where guest packages are installed (&lt;guestDir&gt;/&lt;name&gt;/cradle.json).</summary>
    public string GuestDir { get; set; } = "/usr/lib/kraud/guest";
    /// <summary>What runs the pods' VMs: systemd (kraud-vm@&lt;id&gt;.service over D-Bus), child (processes of the agent),
    /// or auto: systemd when it is PID 1 (/run/systemd/system exists), else child. `dev` defaults to child.</summary>
    public string VmSupervisor { get; set; } = "auto";
    /// <summary>vCPUs pods may hold together; 0: the host's CPU count (no overcommit).</summary>
    public int AllocatableVcpus { get; set; }
    /// <summary>bali identity strings whose signatures a bali image may carry.</summary>
    public List<string> TrustedImageKeys { get; set; } = [];
    /// <summary>How to reach image registries (matched by host[:port]); others are reached anonymously over HTTPS.</summary>
    public List<RegistryConfig> Registries { get; set; } = [];
    public ImageCacheConfig ImageCache { get; set; } = new();
    /// <summary>The Volume kind's replication listener (replication.md); null listen = this host receives no replicas.</summary>
    public ReplicationConfig Replication { get; set; } = new();
}

/// <summary>`replication`: where this host listens for replicas and the TLS identity it shows and checks (PEM files).</summary>
public sealed class ReplicationConfig
{
    /// <summary>host:port or [ipv6]:port; null = no listener (a host that only sends still needs the certificates).</summary>
    public string? Listen { get; set; }
    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }
    public string? CaFile { get; set; }
    /// <summary>Transfers at once on this host, sending and receiving each.</summary>
    public int MaxTransfers { get; set; } = 2;

    public bool Configured => CertFile is not null;
}

/// <summary>One image registry of the config's `registries`.</summary>
public sealed class RegistryConfig
{
    public string Host { get; set; } = "";
    public string? CaFile { get; set; }
    public string? Username { get; set; }
    /// <summary>A secret: never printed (ConfigSchema marks it so).</summary>
    public string? Password { get; set; }
    /// <summary>Allows a registry without TLS (loopback, tests).</summary>
    public bool PlainHttp { get; set; }
}

/// <summary>The Pod kind's blob store under &lt;stateDir&gt;/images: its size limit and how long an unused blob stays.</summary>
public sealed class ImageCacheConfig
{
    public long MaxBytes { get; set; } = 50L << 30;
    public int GraceSeconds { get; set; } = 3600;
}

public sealed class NatsConfig
{
    public List<string> Servers { get; set; } = ["nats://127.0.0.1:4222"];
    public string? User { get; set; }
    public string? Password { get; set; }
    public string? Token { get; set; }
    public string? CaFile { get; set; }
    /// <summary>A NATS .creds file (user JWT and NKey seed), as outposts joining a central cluster use.</summary>
    public string? CredsFile { get; set; }
    /// <summary>A file holding an NKey seed (SU...), for servers that list users by NKey.</summary>
    public string? NkeyFile { get; set; }
    /// <summary>Client certificate and key (PEM) for servers that verify clients (mutual TLS).</summary>
    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }
}

/// <summary>Our extension of the contract's file (docs/contract.md): where log lines go.</summary>
public sealed class LogConfig
{
    /// <summary>auto (journal when stderr is the journal, else stderr), journal, or stderr.</summary>
    public string Target { get; set; } = "auto";
    public string JournalSocket { get; set; } = "/run/systemd/journal/socket";
    /// <summary>trace, debug, information, warning, error.</summary>
    public string Level { get; set; } = "information";
}
