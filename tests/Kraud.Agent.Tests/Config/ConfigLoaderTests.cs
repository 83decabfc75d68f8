using System.Collections;
using Kraud.Agent.Config;

namespace Kraud.Agent.Tests.Config;

public sealed class ConfigLoaderTests
{
    private static AgentConfig Parse(string json, Hashtable? env = null) => ConfigLoader.Parse(json, "/etc/kraud/agent.json", env ?? new Hashtable());

    [Fact]
    public void Reads_the_contract_example()
    {
        var c = Parse("""
            { "host": "h1",
              "nats": { "servers": ["nats://127.0.0.1:4222"], "user": null, "password": null, "token": null, "caFile": null },
              "stateDir": "/var/lib/kraud", "concurrency": 8, "shutdownGraceSeconds": 20, "replicas": 1 }
            """);
        Assert.Equal("h1", c.Host);
        Assert.Equal(["nats://127.0.0.1:4222"], c.Nats.Servers);
        Assert.Equal(8, c.Concurrency);
        Assert.Equal(20, c.ShutdownGraceSeconds);
        Assert.Equal(1, c.Replicas);
        Assert.Equal("/etc/kraud/agent.json", c.Source);
    }

    [Fact]
    public void Environment_overrides_keys_and_list_items()
    {
        var c = Parse("""{ "host": "h1", "nats": { "servers": ["nats://a:4222", "nats://b:4222"] } }""", new Hashtable
        {
            ["KRAUD_HOST"] = "h2",
            ["KRAUD_CONCURRENCY"] = "3",
            ["KRAUD_NATS__SERVERS__0"] = "nats://c:4222",
            ["KRAUD_NATS__SERVERS__1"] = "nats://d:4222",
            ["KRAUD_LOG__LEVEL"] = "debug",
            ["OTHER"] = "ignored",
        });
        Assert.Equal("h2", c.Host);
        Assert.Equal(3, c.Concurrency);
        Assert.Equal(["nats://c:4222", "nats://d:4222"], c.Nats.Servers); // the environment's list replaces the file's
        Assert.Equal("debug", c.Log.Level);
    }

    [Fact]
    public void Unknown_environment_key_names_the_variable()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "host": "h1" }""", new Hashtable { ["KRAUD_NATS__SERVR"] = "x" }));
        Assert.Equal("config environment KRAUD_NATS__SERVR: key 'nats.servr': unknown key", e.Message.Split(" (")[0]);
    }

    [Fact]
    public void List_items_must_be_consecutive()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "host": "h1" }""", new Hashtable { ["KRAUD_NATS__SERVERS__1"] = "nats://x:1" }));
        Assert.Equal("nats.servers[1]", e.Key);
    }

    [Theory]
    [InlineData("""{ "host": "h1", "replicas": 2 }""", "replicas")]
    [InlineData("""{ "host": "h1", "concurrency": 0 }""", "concurrency")]
    [InlineData("""{ "host": "h1", "stateDir": "relative" }""", "stateDir")]
    [InlineData("""{ "host": "h1", "nats": { "user": "u" } }""", "nats.password")]
    [InlineData("""{ "host": "h1", "log": { "target": "syslog" } }""", "log.target")]
    [InlineData("""{ "host": "h1", "concurrency": 1.5 }""", "concurrency")]
    [InlineData("""[1]""", "")]
    public void Rejects_bad_values_naming_the_key(string json, string key) =>
        Assert.Equal(key, Assert.Throws<ConfigException>(() => Parse(json)).Key);
}
