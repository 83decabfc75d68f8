namespace Kraud.Vmm.Launch;

/// <summary>The launch file of one VM (contract section 8), as <see cref="LaunchFileReader"/> reads it.</summary>
public sealed class LaunchFile
{
    public string Id { get; set; } = "";
    public int Vcpus { get; set; } = 1;
    public long MemoryMiB { get; set; }
    public string Kernel { get; set; } = "";
    public string? Initrd { get; set; }
    public string Cmdline { get; set; } = "";
    public string? SerialLog { get; set; }
    public List<LaunchDisk> Disks { get; set; } = [];
    public List<LaunchNet> Nets { get; set; } = [];
    public List<LaunchShare> Shares { get; set; } = [];
}

/// <summary>A virtio-fs share: the guest mounts it by <see cref="Tag"/>; a vhost-user-fs back end listens on <see cref="Socket"/>.</summary>
public sealed class LaunchShare
{
    public string Tag { get; set; } = "";
    public string Socket { get; set; } = "";
}

public sealed class LaunchDisk
{
    public string Path { get; set; } = "";
    public bool ReadOnly { get; set; }
}

public sealed class LaunchNet
{
    public string Tap { get; set; } = "";
    public string Mac { get; set; } = "";
}
