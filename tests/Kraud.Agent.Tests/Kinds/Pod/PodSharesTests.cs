using System.Text.Json;
using Kraud.Agent.Kinds.Pod;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>How a pod's mounts of nfs volumes become shares, on a directory standing in for a dataset's mountpoint.</summary>
public sealed class PodSharesTests
{
    private static PodSpec Spec(string mounts) => ResourceEnvelope.ReadSpec(JsonDocument.Parse($$"""
        { "resources": { "vcpus": 1, "memoryMiB": 64 }, "guest": "default",
          "volumes": [ { "name": "shared", "volume": "vol-data" } ],
          "containers": [ { "name": "a", "image": { "ref": "r/a:1" }, "volumeMounts": {{mounts}} },
                          { "name": "b", "image": { "ref": "r/b:1" }, "volumeMounts": [ { "volume": "shared", "guestPath": "/x" } ] } ] }
        """).RootElement, PodJsonContext.Default.PodSpec);

    [Fact]
    public void One_share_per_directory_and_mode_with_subdirectories_created_inside_the_volume()
    {
        using var dir = new TempDir("kraud-shares");
        string mountpoint = Directory.CreateDirectory(dir.File("mnt")).FullName;
        var spec = Spec("""[ { "volume": "shared", "guestPath": "/data" }, { "volume": "shared", "volumePath": "logs/", "guestPath": "/logs", "readOnly": true } ]""");
        var shares = PodShares.Plan("/run/kraud/vm/p1", spec, new Dictionary<string, string> { ["shared"] = mountpoint });

        // Container b's mount of the whole volume read-write is container a's first share.
        Assert.Equal(
            [("fs0", "vol-data", "", false, mountpoint, "/run/kraud/vm/p1/fs0.sock"), ("fs1", "vol-data", "logs", true, Path.Combine(mountpoint, "logs"), "/run/kraud/vm/p1/fs1.sock")],
            shares.Select(s => (s.Tag, s.Volume, s.VolumePath, s.ReadOnly, s.Directory, s.Socket)).ToList());
        Assert.True(Directory.Exists(Path.Combine(mountpoint, "logs")));
        Assert.Equal("fs0", PodShares.TagOf(shares, "vol-data", spec.Containers![1].VolumeMounts![0]));
    }

    [Theory]
    [InlineData("link", "is a link or a file")]
    [InlineData("link/below", "is a link or a file")]
    [InlineData("file", "is a link or a file")]
    public void A_volumePath_through_a_link_or_a_file_is_refused_naming_the_mount(string volumePath, string expected)
    {
        using var dir = new TempDir("kraud-shares");
        string mountpoint = Directory.CreateDirectory(dir.File("mnt")).FullName;
        string outside = Directory.CreateDirectory(dir.File("outside")).FullName;
        // What a guest could plant in its volume: a link to a host directory, and a file.
        File.CreateSymbolicLink(Path.Combine(mountpoint, "link"), outside);
        File.WriteAllText(Path.Combine(mountpoint, "file"), "");
        var spec = Spec($$"""[ { "volume": "shared", "volumePath": "{{volumePath}}", "guestPath": "/data" } ]""");
        var e = Assert.Throws<PermanentReconcileException>(() => PodShares.Plan("/run/kraud/vm/p1", spec, new Dictionary<string, string> { ["shared"] = mountpoint }));
        Assert.Equal("spec.containers[0].volumeMounts[0].volumePath", e.Field);
        Assert.Contains(expected, e.Message);
        Assert.False(Directory.Exists(Path.Combine(outside, "below")));
    }
}
