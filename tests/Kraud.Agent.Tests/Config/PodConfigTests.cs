using System.Collections;
using Kraud.Agent.Config;

namespace Kraud.Agent.Tests.Config;

/// <summary>The Pod kind's keys: guestDir, registries (a password is a secret), trustedImageKeys, imageCache.</summary>
public sealed class PodConfigTests
{
    private static AgentConfig Parse(string json, Hashtable? env = null) => ConfigLoader.Parse(json, "/etc/kraud/agent.json", env ?? new Hashtable());

    [Fact]
    public void Reads_the_pod_keys_of_the_design_and_their_environment_overrides()
    {
        var c = Parse("""
            { "host": "h1", "guestDir": "/opt/guest",
              "registries": [ { "host": "registry.example:5000", "caFile": null, "username": "u", "password": "p", "plainHttp": false } ],
              "trustedImageKeys": [],
              "imageCache": { "maxBytes": 53687091200, "graceSeconds": 3600 } }
            """, new Hashtable { ["KRAUD_REGISTRIES__0__PASSWORD"] = "from-env", ["KRAUD_REGISTRIES__1__HOST"] = "127.0.0.1:5000",
                                 ["KRAUD_REGISTRIES__1__PLAINHTTP"] = "true", ["KRAUD_IMAGECACHE__GRACESECONDS"] = "60" });
        Assert.Equal("/opt/guest", c.GuestDir);
        Assert.Equal(53687091200, c.ImageCache.MaxBytes);
        Assert.Equal(60, c.ImageCache.GraceSeconds);
        Assert.Equal(2, c.Registries.Count);
        Assert.Equal(("registry.example:5000", "u", "from-env", false), (c.Registries[0].Host, c.Registries[0].Username, c.Registries[0].Password, c.Registries[0].PlainHttp));
        Assert.Equal(("127.0.0.1:5000", true), (c.Registries[1].Host, c.Registries[1].PlainHttp));
        Assert.Equal("/usr/lib/kraud/guest", Parse("""{ "host": "h1" }""").GuestDir);
    }

    [Fact]
    public void A_registry_password_of_the_wrong_type_is_named_without_its_value()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "host": "h1", "registries": [ { "host": "r:5000", "username": "u", "password": 12345678 } ] }"""));
        Assert.Contains("registries[0].password", e.Message);
        Assert.DoesNotContain("12345678", e.Message);
    }

    [Theory]
    [InlineData("""{ "host": "h1", "registries": [ { "hots": "r" } ] }""", "registries[0].hots")]
    [InlineData("""{ "host": "h1", "trustedImageKeys": ["nokey"] }""", "trustedImageKeys[0]")]
    [InlineData("""{ "host": "h1", "guestDir": "relative" }""", "guestDir")]
    [InlineData("""{ "host": "h1", "imageCache": { "maxBytes": -1 } }""", "imageCache.maxBytes")]
    [InlineData("""{ "host": "h1", "registries": { "host": "r" } }""", "registries")]
    public void Bad_pod_keys_are_named(string json, string key)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(json));
        Assert.Contains($"key '{key}'", e.Message);
    }
}
