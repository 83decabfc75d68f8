using System.Collections;
using Kraud.Agent.Config;

namespace Kraud.Agent.Tests.Config;

/// <summary>The Volume replication keys: replication { listen, certFile, keyFile, caFile, maxTransfers }.</summary>
public sealed class ReplicationConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kraud-repl-config").FullName;
    private string Cert => Path.Combine(_dir, "h1.pem");
    private string Key => Path.Combine(_dir, "h1.key");
    private string Ca => Path.Combine(_dir, "ca.pem");

    public ReplicationConfigTests()
    {
        foreach (var f in new[] { Cert, Key, Ca }) File.WriteAllText(f, "pem");
        File.SetUnixFileMode(Key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static AgentConfig Parse(string json, Hashtable? env = null) => ConfigLoader.Parse(json, "/etc/kraud/agent.json", env ?? new Hashtable());

    private string Section(string extra = "") =>
        $$"""{ "host": "h1", "replication": { "listen": "[::]:7370", "certFile": "{{Cert}}", "keyFile": "{{Key}}", "caFile": "{{Ca}}"{{extra}} } }""";

    [Fact]
    public void ReadsTheKeysAndTheirEnvironmentOverrides()
    {
        var c = Parse(Section(), new Hashtable { ["KRAUD_REPLICATION__MAXTRANSFERS"] = "4" });
        Assert.Equal(("[::]:7370", Cert, Key, Ca, 4), (c.Replication.Listen, c.Replication.CertFile, c.Replication.KeyFile, c.Replication.CaFile, c.Replication.MaxTransfers));
        Assert.True(c.Replication.Configured);
        var none = Parse("""{ "host": "h1" }""");
        Assert.False(none.Replication.Configured);
        Assert.Equal(2, none.Replication.MaxTransfers);
    }

    [Fact]
    public void BadKeysAreNamed()
    {
        void Named(string json, string key) => Assert.Contains($"key '{key}'", Assert.Throws<ConfigException>(() => Parse(json)).Message);
        Named(Section(", \"maxTransfers\": 0"), "replication.maxTransfers");
        Named(Section(", \"lisen\": \"x\""), "replication.lisen");
        Named(Section().Replace("[::]:7370", "h2:7370"), "replication.listen");
        Named(Section().Replace("[::]:7370", "[::]"), "replication.listen");
        Named(Section().Replace(Ca, Ca + ".missing"), "replication.caFile");
        Named($$"""{ "host": "h1", "replication": { "listen": "[::]:7370" } }""", "replication.certFile");
        File.SetUnixFileMode(Key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Named(Section(), "replication.keyFile");
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
