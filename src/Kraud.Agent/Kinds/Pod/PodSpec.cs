namespace Kraud.Agent.Kinds.Pod;

/// <summary>The Pod kind's spec (docs/contract.md, Pod; /work/shared/pod.md): containers in one microVM on this host.</summary>
public sealed class PodSpec
{
    public string? Tenant { get; init; }
    public string? Namespace { get; init; }
    public string? Name { get; init; }
    public PodResources? Resources { get; init; }
    public string? Guest { get; init; }
    public List<PodContainer>? Containers { get; init; }
    public List<PodVolume>? Volumes { get; init; }
    public PodNetwork? Network { get; init; }
    /// <summary>The VM as a whole: always, on-failure or never (default always).</summary>
    public string? Restart { get; init; }
}

public sealed class PodResources
{
    public int Vcpus { get; init; }
    public long MemoryMiB { get; init; }
}

public sealed class PodContainer
{
    public string? Name { get; init; }
    public PodImage? Image { get; init; }
    public PodProcess? Process { get; init; }
    public PodLifecycle? Lifecycle { get; init; }
    public List<PodVolumeMount>? VolumeMounts { get; init; }
}

/// <summary>Either an OCI image (<see cref="Ref"/>, optional <see cref="Digest"/>) or a bali image (<see cref="Bali"/> + <see cref="Sha256"/>).</summary>
public sealed class PodImage
{
    public string? Ref { get; init; }
    public string? Digest { get; init; }
    public string? Bali { get; init; }
    public string? Sha256 { get; init; }

    public bool IsBali => Bali is not null;
}

public sealed class PodProcess
{
    public List<string>? Cmd { get; init; }
    public Dictionary<string, string>? Env { get; init; }
    public string? Workdir { get; init; }
    public string? User { get; init; }
    public bool Tty { get; init; }
}

public sealed class PodLifecycle
{
    public bool Critical { get; init; }
    public bool RestartOnFailure { get; init; }
    public bool RestartOnSuccess { get; init; }
    public int RestartDelayMs { get; init; }
    public int MaxRestarts { get; init; }
}

public sealed class PodVolumeMount
{
    public string? Volume { get; init; }
    public string? VolumePath { get; init; }
    public string? GuestPath { get; init; }
    public bool ReadOnly { get; init; }
}

public sealed class PodVolume
{
    public string? Name { get; init; }
    public string? Volume { get; init; }
}

public sealed class PodNetwork
{
    public string? Ip6 { get; init; }
    public string? Ip4 { get; init; }
    /// <summary>The Vpc resource whose network the pod is in: its tap goes into that Vpc's VRF, its routes into its table.</summary>
    public string? Vpc { get; init; }
    public List<string>? Nameservers { get; init; }
    public string? SearchDomain { get; init; }
}
