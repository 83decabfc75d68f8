using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Pod;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>The Pod spec is strict and every refusal names spec.&lt;path&gt;: nothing is touched before it passes.</summary>
public sealed class PodSpecValidationTests
{
    private static JsonObject Valid() => JsonNode.Parse("""
        { "tenant": "t-42", "namespace": "nextcloud", "name": "db",
          "resources": { "vcpus": 2, "memoryMiB": 1024 },
          "guest": "default",
          "containers": [ {
              "name": "db",
              "image": { "ref": "registry.example:5000/library/mariadb:11",
                         "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000" },
              "process": { "cmd": ["mariadbd"], "env": { "A": "x" }, "workdir": "", "user": "", "tty": false },
              "lifecycle": { "critical": true, "restartOnFailure": true, "restartOnSuccess": false, "restartDelayMs": 300, "maxRestarts": 0 },
              "volumeMounts": [ { "volume": "data", "volumePath": "", "guestPath": "/var/lib/mysql", "readOnly": false } ] } ],
          "volumes": [ { "name": "data", "volume": "vol-7f3a" } ],
          "network": { "ip6": "fd42:1a8:0:2a09::17", "ip4": "10.20.0.17", "nameservers": ["fd42:1a8::53"], "searchDomain": "nextcloud.kraud" },
          "restart": "always" }
        """)!.AsObject();

    private static PodSpec Read(JsonObject spec)
    {
        using var doc = JsonDocument.Parse(spec.ToJsonString());
        var s = ResourceEnvelope.ReadSpec(doc.RootElement.Clone(), PodJsonContext.Default.PodSpec);
        PodSpecValidator.Validate(s);
        return s;
    }

    private static string Refusal(Action<JsonObject> change)
    {
        var spec = Valid();
        change(spec);
        var e = Assert.ThrowsAny<PermanentReconcileException>(() => Read(spec));
        return e.Message;
    }

    [Fact]
    public void The_design_example_is_accepted()
    {
        var s = Read(Valid());
        Assert.Equal("db", s.Containers![0].Name);
        Assert.Equal(1024, s.Resources!.MemoryMiB);
    }

    [Theory]
    [InlineData("unknown", "spec.colour")]
    [InlineData("mistyped-vcpus", "spec.resources.vcpus")]
    [InlineData("vcpus-zero", "spec.resources.vcpus")]
    [InlineData("memory-small", "spec.resources.memoryMiB")]
    [InlineData("unknown-in-container", "spec.containers[0].imagePullPolicy")]
    [InlineData("container-name", "spec.containers[0].name")]
    [InlineData("container-twice", "spec.containers[1].name")]
    [InlineData("bad-ref", "spec.containers[0].image.ref")]
    [InlineData("bad-digest", "spec.containers[0].image.digest")]
    [InlineData("both-images", "spec.containers[0].image")]
    [InlineData("bali-sha", "spec.containers[0].image.sha256")]
    [InlineData("undeclared-volume", "spec.containers[0].volumeMounts[0].volume")]
    [InlineData("bad-ip6", "spec.network.ip6")]
    [InlineData("ip4-as-ip6", "spec.network.ip6")]
    [InlineData("bad-ip4", "spec.network.ip4")]
    [InlineData("restart", "spec.restart")]
    [InlineData("guest", "spec.guest")]
    [InlineData("no-containers", "spec.containers")]
    public void A_bad_field_is_refused_naming_it(string what, string field)
    {
        string message = Refusal(s =>
        {
            var c = s["containers"]![0]!.AsObject();
            switch (what)
            {
                case "unknown": s["colour"] = "blue"; break;
                case "mistyped-vcpus": s["resources"]!["vcpus"] = "2"; break;
                case "vcpus-zero": s["resources"]!["vcpus"] = 0; break;
                case "memory-small": s["resources"]!["memoryMiB"] = 1; break;
                case "unknown-in-container": c["imagePullPolicy"] = "always"; break;
                case "container-name": c["name"] = "Db_1"; break;
                case "container-twice": s["containers"]!.AsArray().Add(JsonNode.Parse(c.ToJsonString())); break;
                case "bad-ref": c["image"]!["ref"] = "mariadb:11"; break;
                case "bad-digest": c["image"]!["digest"] = "sha256:xyz"; break;
                case "both-images": c["image"]!["bali"] = "https://h/i.tar.gz"; break;
                case "bali-sha": c["image"] = new JsonObject { ["bali"] = "https://h/i.tar.gz", ["sha256"] = "ABC" }; break;
                case "undeclared-volume": c["volumeMounts"]![0]!["volume"] = "logs"; break;
                case "bad-ip6": s["network"]!["ip6"] = "fd42::zz"; break;
                case "ip4-as-ip6": s["network"]!["ip6"] = "10.0.0.1"; break;
                case "bad-ip4": s["network"]!["ip4"] = "10.0.0.1/24"; break;
                case "restart": s["restart"] = "sometimes"; break;
                case "guest": s["guest"] = "../etc"; break;
                case "no-containers": s["containers"] = new JsonArray(); break;
            }
        });
        Assert.StartsWith(field + ":", message);
    }

    [Fact]
    public void A_missing_or_bad_guest_package_fails_naming_spec_guest()
    {
        using var dir = new TempDir("kraud-guest");
        var missing = Assert.Throws<PermanentReconcileException>(() => GuestPackage.Load(dir.Path, "default"));
        Assert.StartsWith("spec.guest:", missing.Message);
        Assert.Contains("not installed", missing.Message);

        Directory.CreateDirectory(Path.Combine(dir.Path, "default"));
        File.WriteAllText(Path.Combine(dir.Path, "default", "cradle.json"), """{"version":2,"kernel":{"kernel":"../../etc/passwd"}}""");
        var escape = Assert.Throws<PermanentReconcileException>(() => GuestPackage.Load(dir.Path, "default"));
        Assert.Contains("no '/' or '..'", escape.Message);

        File.WriteAllText(Path.Combine(dir.Path, "default", "cradle.json"), """{"version":1,"kernel":{"kernel":"kernel"}}""");
        Assert.Contains("version must be 2", Assert.Throws<PermanentReconcileException>(() => GuestPackage.Load(dir.Path, "default")).Message);

        File.WriteAllText(Path.Combine(dir.Path, "default", "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel","initrd":"initrd"},"extra":1}""");
        File.WriteAllText(Path.Combine(dir.Path, "default", "kernel"), "k");
        Assert.Contains("initrd", Assert.Throws<PermanentReconcileException>(() => GuestPackage.Load(dir.Path, "default")).Message);
        File.WriteAllText(Path.Combine(dir.Path, "default", "initrd"), "i");
        var ok = GuestPackage.Load(dir.Path, "default");
        Assert.Equal(Path.Combine(dir.Path, "default", "kernel"), ok.Kernel);
        Assert.Equal(Path.Combine(dir.Path, "default", "initrd"), ok.Initrd);
    }

    [Fact]
    public void Tap_names_fit_an_interface_name_and_differ_per_pod()
    {
        string a = PodTap.NameOf("pod-1"), b = PodTap.NameOf("pod-2");
        Assert.True(a.Length <= 15);
        Assert.StartsWith("kp", a);
        Assert.NotEqual(a, b);
        Assert.Equal(a, PodTap.NameOf("pod-1"));
    }
}
