using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Snapshot;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

public class SpecValidationTests
{
    private static VolumeSpec ParseVolume(string json) => ResourceEnvelope.ReadSpec(JsonDocument.Parse(json).RootElement, VolumeJsonContext.Default.VolumeSpec);
    private static VolumeSpec ParseVolume(JsonNode json) => ParseVolume(json.ToJsonString());
    private static SnapshotSpec ParseSnapshot(string json) => ResourceEnvelope.ReadSpec(JsonDocument.Parse(json).RootElement, SnapshotJsonContext.Default.SnapshotSpec);

    private const string Example = """
        { "pool": "tank", "class": "nfs", "sizeBytes": 10737418240,
          "properties": { "compression": "zstd" },
          "snapshots": { "schedule": [ { "every": "1h", "keep": 24 }, { "every": "1d", "keep": 7 } ] },
          "nfs": { "clients": [ { "match": "fd42:1a8::/64", "options": "rw,no_root_squash" } ] },
          "restore": { "snapshot": "before-upgrade", "requestId": "r-17" } }
        """;

    [Fact]
    public void TheContractExampleParsesAndValidates()
    {
        var spec = ParseVolume(Example);
        VolumeSpecValidator.Validate(spec);
        Assert.Equal("tank", spec.Pool);
        Assert.Equal(10737418240, spec.SizeBytes);
        Assert.Equal(7, spec.Snapshots!.Schedule![1].Keep);
        Assert.Equal("r-17", spec.Restore!.RequestId);
        ParseSnapshot("""{ "volume": "vol-7f3a", "name": "before-upgrade" }""").Validate();
    }

    [Theory]
    [InlineData("pool", "\"ta@nk\"", "spec.pool")]
    [InlineData("pool", "\"tank/x\"", "spec.pool")]
    [InlineData("class", "\"zfs\"", "spec.class")]
    [InlineData("sizeBytes", "0", "spec.sizeBytes")]
    [InlineData("sizeBytes", "-5", "spec.sizeBytes")]
    [InlineData("properties", """{ "mountpoint": "/x" }""", "spec.properties.mountpoint")]
    [InlineData("properties", """{ "kraud:id": "x" }""", "spec.properties.kraud:id")]
    [InlineData("snapshots", """{ "schedule": [ { "every": "1x", "keep": 2 } ] }""", "spec.snapshots.schedule[0]")]
    [InlineData("snapshots", """{ "schedule": [ { "every": "1h", "keep": 2 }, { "every": "1h", "keep": 3 } ] }""", "spec.snapshots.schedule[1].every")]
    [InlineData("nfs", """{ "clients": [ { "match": "a b", "options": "rw" } ] }""", "spec.nfs.clients[0]")]
    [InlineData("restore", """{ "snapshot": "a@b", "requestId": "r1" }""", "spec.restore.snapshot")]
    [InlineData("restore", """{ "snapshot": "a", "requestId": "" }""", "spec.restore.requestId")]
    public void ABadFieldIsNamed(string field, string json, string expectedField)
    {
        var node = JsonNode.Parse(Example)!.AsObject();
        node[field] = JsonNode.Parse(json);
        var e = Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.Validate(ParseVolume(node)));
        Assert.Equal(expectedField, e.Field);
        Assert.StartsWith(expectedField + ":", e.Message);
    }

    [Fact]
    public void UnknownAndMistypedFieldsArePermanent()
    {
        var e = Assert.Throws<PermanentReconcileException>(() => ParseVolume("""{ "pool": "tank", "sizeBytes": "big" }"""));
        Assert.Equal("spec.sizeBytes", e.Field);
        var u = Assert.Throws<PermanentReconcileException>(() => ParseVolume("""{ "pool": "tank", "szeBytes": 1 }"""));
        Assert.Contains("szeBytes", u.Message);
        Assert.Throws<PermanentReconcileException>(() => ParseVolume("[]"));
    }

    [Fact]
    public void Lv2SizesAreWholeBlocksAndNfsClientsNeedNfs()
    {
        var node = JsonNode.Parse(Example)!.AsObject();
        node["class"] = "lv2";
        var e = Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.Validate(ParseVolume(node)));
        Assert.Equal("spec.nfs", e.Field);
        node.Remove("nfs");
        node["sizeBytes"] = 10000;
        Assert.Equal("spec.sizeBytes", Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.Validate(ParseVolume(node))).Field);
        node["sizeBytes"] = 16384 * 10;
        VolumeSpecValidator.Validate(ParseVolume(node));
    }

    [Theory]
    [InlineData("vol/x")]
    [InlineData("vol@x")]
    [InlineData("")]
    public void BadIdsArePermanent(string id) =>
        Assert.Equal("id", Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.ValidateId(id)).Field);
}
