using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

public class ReplicationSpecTests
{
    private static VolumeSpec Parse(JsonNode json) =>
        ResourceEnvelope.ReadSpec(JsonDocument.Parse(json.ToJsonString()).RootElement, VolumeJsonContext.Default.VolumeSpec);

    private const string Source = """
        { "pool": "tank", "class": "nfs", "sizeBytes": 1073741824,
          "replication": { "role": "source", "targets": [ { "host": "h2", "address": "[2001:db8::2]:7370" } ],
                           "every": "1h", "keep": 24 } }
        """;

    private const string Replica = """
        { "pool": "tank", "class": "nfs", "sizeBytes": 1073741824,
          "replication": { "role": "replica", "source": { "host": "h1" }, "keep": 24 } }
        """;

    [Fact]
    public void TheDesignsExamplesParseAndValidate()
    {
        var s = Parse(JsonNode.Parse(Source)!);
        VolumeSpecValidator.Validate(s, "h1");
        Assert.Equal("h2", s.Replication!.Targets![0].Host);
        Assert.False(s.IsReplica);
        var r = Parse(JsonNode.Parse(Replica)!);
        VolumeSpecValidator.Validate(r, "h2");
        Assert.True(r.IsReplica);
        Assert.Equal("h1", r.Replication!.Source!.Host);
        var h = JsonNode.Parse(Source)!;
        h["replication"]!["handover"] = JsonNode.Parse("""{ "to": "h2", "requestId": "m-9" }""");
        VolumeSpecValidator.Validate(Parse(h), "h1");
    }

    [Theory]
    [InlineData(Source, "role", "\"primary\"", "spec.replication.role")]
    [InlineData(Source, "targets", "[]", "spec.replication.targets")]
    [InlineData(Source, "targets", """[ { "host": "H2", "address": "h2:7370" } ]""", "spec.replication.targets[0].host")]
    [InlineData(Source, "targets", """[ { "host": "h1", "address": "h1:7370" } ]""", "spec.replication.targets[0].host")]
    [InlineData(Source, "targets", """[ { "host": "h2", "address": "h2:7370" }, { "host": "h2", "address": "h3:7370" } ]""", "spec.replication.targets[1].host")]
    [InlineData(Source, "targets", """[ { "host": "h2", "address": "2001:db8::2:7370" } ]""", "spec.replication.targets[0].address")]
    [InlineData(Source, "targets", """[ { "host": "h2", "address": "h2:0" } ]""", "spec.replication.targets[0].address")]
    [InlineData(Source, "targets", """[ { "host": "h2", "address": "h2" } ]""", "spec.replication.targets[0].address")]
    [InlineData(Source, "every", "\"30s\"", "spec.replication.every")]
    [InlineData(Source, "every", "null", "spec.replication.every")]
    [InlineData(Source, "keep", "0", "spec.replication.keep")]
    [InlineData(Source, "keep", "10001", "spec.replication.keep")]
    [InlineData(Source, "source", """{ "host": "h3" }""", "spec.replication.source")]
    [InlineData(Source, "handover", """{ "to": "h3", "requestId": "m-9" }""", "spec.replication.handover.to")]
    [InlineData(Source, "handover", """{ "to": "h2", "requestId": "m 9" }""", "spec.replication.handover.requestId")]
    [InlineData(Replica, "source", "null", "spec.replication.source")]
    [InlineData(Replica, "source", """{ "host": "h2" }""", "spec.replication.source.host")]
    [InlineData(Replica, "every", "\"1h\"", "spec.replication.every")]
    [InlineData(Replica, "targets", """[ { "host": "h3", "address": "h3:7370" } ]""", "spec.replication.targets")]
    [InlineData(Replica, "handover", """{ "to": "h1", "requestId": "m-9" }""", "spec.replication.handover")]
    [InlineData(Replica, "keep", "0", "spec.replication.keep")]
    public void ABadFieldIsNamed(string example, string field, string json, string expectedField)
    {
        var node = JsonNode.Parse(example)!;
        node["replication"]![field] = JsonNode.Parse(json);
        var e = Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.Validate(Parse(node), example == Source ? "h1" : "h2"));
        Assert.Equal(expectedField, e.Field);
        Assert.StartsWith(expectedField + ":", e.Message);
    }

    [Fact]
    public void AReplicaIsNeitherExportedNorRestoredAndUnknownFieldsAreErrors()
    {
        var node = JsonNode.Parse(Replica)!;
        node["nfs"] = JsonNode.Parse("""{ "clients": [ { "match": "fd42::/64", "options": "rw" } ] }""");
        Assert.Equal("spec.nfs", Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.Validate(Parse(node))).Field);
        node.AsObject().Remove("nfs");
        node["restore"] = JsonNode.Parse("""{ "snapshot": "a", "requestId": "r1" }""");
        Assert.Equal("spec.restore", Assert.Throws<PermanentReconcileException>(() => VolumeSpecValidator.Validate(Parse(node))).Field);
        node.AsObject().Remove("restore");
        node["replication"]!["evry"] = "1h";
        Assert.Contains("evry", Assert.Throws<PermanentReconcileException>(() => Parse(node)).Message);
    }

    [Theory]
    [InlineData("h2:7370", "h2", 7370)]
    [InlineData("[fd00:99::2]:7370", "fd00:99::2", 7370)]
    [InlineData("192.0.2.7:1", "192.0.2.7", 1)]
    public void AddressesParse(string address, string host, int port) =>
        Assert.Equal((host, port), ReplicationSpecValidator.ParseAddress(address));
}

public class ReplicationGetLinesTests
{
    [Fact]
    public void GetPrintsEachTargetsSnapshotTimeLagBytesAndStateAndAReplicasSource()
    {
        var source = System.Text.Json.Nodes.JsonNode.Parse("""
            { "replication": [ { "host": "h2", "lastSnapshot": "repl-20261205T010000Z", "lastSentAt": "2026-12-05T01:00:03Z",
                                 "lagSeconds": 300, "bytes": 3145728, "state": "idle", "error": null },
                               { "host": "h3", "lastSnapshot": null, "lastSentAt": null, "lagSeconds": null, "bytes": 0,
                                 "state": "failing", "error": "connection refused" } ],
              "replicationWarning": "replication to 'h3' is behind its RPO" }
            """)!.AsObject();
        var lines = Kraud.Agent.Cli.GetCommand.ReplicationLines(source).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal("  -> h2         idle      last repl-20261205T010000Z sent 2026-12-05T01:00:03Z lag 300s bytes 3145728", lines[0]);
        Assert.EndsWith("error: connection refused", lines[1]);
        Assert.Equal("  ! replication to 'h3' is behind its RPO", lines[2]);
        var replica = System.Text.Json.Nodes.JsonNode.Parse("""{ "replication": { "source": "h1", "lastReceived": "repl-20261205T010000Z", "receivedAt": "2026-12-05T01:00:00Z", "state": "replica" } }""")!.AsObject();
        Assert.Equal("  <- h1         replica   last repl-20261205T010000Z at 2026-12-05T01:00:00Z", Assert.Single(Kraud.Agent.Cli.GetCommand.ReplicationLines(replica)));
        Assert.Empty(Kraud.Agent.Cli.GetCommand.ReplicationLines(new System.Text.Json.Nodes.JsonObject()));
    }
}
