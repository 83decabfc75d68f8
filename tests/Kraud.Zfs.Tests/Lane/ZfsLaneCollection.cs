namespace Kraud.Zfs.Tests.Lane;

/// <summary>All kernel-lane ZFS tests share one collection: they run one after another on the lane's 2 CPUs.</summary>
[CollectionDefinition("zfs-lane")]
public sealed class ZfsLaneCollection;
