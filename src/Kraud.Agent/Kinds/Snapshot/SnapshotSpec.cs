using Kraud.Agent.Kinds.Volume;
using Kraud.Zfs.Names;

namespace Kraud.Agent.Kinds.Snapshot;

/// <summary>contract §7 Snapshot: `<pool>/kraud/<volume>@user-<name>`.</summary>
public sealed class SnapshotSpec
{
    public string? Volume { get; init; }
    public string? Name { get; init; }

    /// <summary>Both names are single ZFS name components; the first bad one fails permanently, naming its field.</summary>
    public void Validate()
    {
        VolumeSpecValidator.Wrap("spec.volume", () => ZfsNames.CheckComponent("volume", Volume));
        VolumeSpecValidator.Wrap("spec.name", () => ZfsNames.CheckComponent("name", Name));
    }
}
