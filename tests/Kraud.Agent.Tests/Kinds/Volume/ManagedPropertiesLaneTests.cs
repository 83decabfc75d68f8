using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>A property removed from the spec goes back to inherited; one an operator set by hand is never touched.</summary>
[Collection("zfs-lane"), Trait("lane", "kernel")]
public class ManagedPropertiesLaneTests
{
    private static VolumeSpec Spec(string pool, Dictionary<string, string>? properties) =>
        new() { Pool = pool, Class = "nfs", SizeBytes = 32 << 20, Properties = properties };

    /// <summary>value and source of one property, as `zfs get -Hp` prints them.</summary>
    private static async Task<(string Value, string Source)> Get(string ds, string property)
    {
        var c = (await TestZpool.Zfs("get", "-Hp", "-o", "value,source", property, ds)).TrimEnd('\n').Split('\t');
        return (c[0], c[1]);
    }

    [Fact]
    public async Task ARemovedPropertyIsResetOnTheNextReconcileWhileAHandSetOneStays()
    {
        await using var pool = await TestZpool.CreateAsync("kp");
        var (_, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        string ds = pool.Root + "/p";
        var all = new Dictionary<string, string> { ["compression"] = "lz4", ["atime"] = "off", ["quota"] = "30000000", ["com.example:tier"] = "gold" };
        await volumes.ReconcileAsync("p", 1, "h1", Spec(pool.Name, all));
        Assert.Equal(("atime,com.example:tier,compression,quota", "local"), await Get(ds, VolumeDatasets.ManagedProperty));
        Assert.Equal(("off", "local"), await Get(ds, "atime"));
        // By hand, outside the spec: a native and a user property.
        await TestZpool.Zfs("set", "recordsize=65536", ds);
        await TestZpool.Zfs("set", "org.operator:note=keep-me", ds);

        var fewer = new Dictionary<string, string> { ["compression"] = "lz4" };
        await volumes.ReconcileAsync("p", 2, "h1", Spec(pool.Name, fewer));
        Assert.Equal(("on", "default"), await Get(ds, "atime"));
        Assert.Equal(("-", "-"), await Get(ds, "com.example:tier"));
        Assert.Equal("0", (await Get(ds, "quota")).Value);
        Assert.Equal(("lz4", "local"), await Get(ds, "compression"));
        Assert.Equal(("compression", "local"), await Get(ds, VolumeDatasets.ManagedProperty));
        Assert.Equal(("65536", "local"), await Get(ds, "recordsize"));
        Assert.Equal(("keep-me", "local"), await Get(ds, "org.operator:note"));

        // The same spec again changes nothing.
        string before = await TestZpool.GetAll(ds);
        await volumes.ReconcileAsync("p", 2, "h1", Spec(pool.Name, fewer));
        Assert.Equal(before, await TestZpool.GetAll(ds));

        // No properties at all: compression goes back too, the record goes, the hand-set ones still stay.
        await volumes.ReconcileAsync("p", 3, "h1", Spec(pool.Name, null));
        Assert.NotEqual("local", (await Get(ds, "compression")).Source);
        Assert.Equal(("-", "-"), await Get(ds, VolumeDatasets.ManagedProperty));
        Assert.Equal(("65536", "local"), await Get(ds, "recordsize"));
        Assert.Equal(("keep-me", "local"), await Get(ds, "org.operator:note"));

        // An operator who sets a property the spec no longer lists keeps it: the agent no longer manages it.
        await TestZpool.Zfs("set", "atime=off", ds);
        await volumes.ReconcileAsync("p", 4, "h1", Spec(pool.Name, null));
        Assert.Equal(("off", "local"), await Get(ds, "atime"));
        await volumes.DeleteAsync("p", "h1", Spec(pool.Name, null));
    }
}
