using System.Text.Json.Serialization;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>The Pod spec, strict as the other kinds': unknown fields and numbers in strings are errors naming spec.&lt;path&gt;.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(PodSpec))]
public sealed partial class PodJsonContext : JsonSerializerContext;

/// <summary>What the agent writes: the VMM's launch file (contract section 8) and the guest's launch.json on the config disk.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(VmLaunchFile))]
[JsonSerializable(typeof(GuestLaunch))]
[JsonSerializable(typeof(List<PodShare>))]
public sealed partial class PodFilesJsonContext : JsonSerializerContext;
