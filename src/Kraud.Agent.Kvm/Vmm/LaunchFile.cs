using System.Text.Json.Serialization;

namespace Kraud.Agent.Kvm.Vmm;

/// <summary>The launch file of one VM (contract section 8). Unknown fields are errors.</summary>
public sealed class LaunchFile
{
    [JsonRequired] public string Id { get; set; } = "";
    public int Vcpus { get; set; } = 1;
    [JsonRequired] public long MemoryMiB { get; set; }
    [JsonRequired] public string Kernel { get; set; } = "";
    public string? Initrd { get; set; }
    public string Cmdline { get; set; } = "";
    public string? SerialLog { get; set; }
    public List<LaunchDisk> Disks { get; set; } = [];
    public List<LaunchNet> Nets { get; set; } = [];
}

public sealed class LaunchDisk
{
    [JsonRequired] public string Path { get; set; } = "";
    public bool ReadOnly { get; set; }
}

public sealed class LaunchNet
{
    [JsonRequired] public string Tap { get; set; } = "";
    [JsonRequired] public string Mac { get; set; } = "";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(LaunchFile))]
internal sealed partial class LaunchFileJson : JsonSerializerContext;
