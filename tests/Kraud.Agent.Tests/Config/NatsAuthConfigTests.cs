using System.Collections;
using Kraud.Agent.Config;

namespace Kraud.Agent.Tests.Config;

/// <summary>
/// The NATS authentication keys of the config (nats.credsFile, nkeyFile, certFile/keyFile, password) as the binary
/// checks them before READY: exit 78 with one line naming the file and the key, and never a secret in it.
/// </summary>
public sealed class NatsAuthConfigTests : IDisposable
{
    private const string Secret = "hunter2-Zq8xV";
    private readonly TempDir _dir = new();

    /// <summary>A file only its owner can read, as a secret's file must be.</summary>
    private string Private(string name, string content)
    {
        string p = _dir.Write(name, content);
        File.SetUnixFileMode(p, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return p;
    }

    private string Config(string nats, UnixFileMode? mode = null)
    {
        string p = _dir.Write("agent.json", $$"""{ "host": "h1", "stateDir": "{{_dir.File("state")}}", "nats": { {{nats}} } }""");
        File.SetUnixFileMode(p, mode ?? (UnixFileMode.UserRead | UnixFileMode.UserWrite));
        return p;
    }

    private static async Task<string> RefusedAsync(string config)
    {
        using var notify = new NotifyListener();
        using var agent = AgentProcess.Start(["run", "--config", config], new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Address });
        int exit = await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        string stderr = string.Join('\n', agent.Stderr);
        Assert.True(exit == 78, $"exit {exit}, stderr: {stderr}");
        Assert.False(notify.Has("READY=1"));
        string line = Assert.Single(agent.Stderr);
        Assert.StartsWith($"kraud-agent: config {config}: ", line);
        Assert.DoesNotContain(Secret, line);
        return line;
    }

    [Theory]
    [InlineData("credsFile")]
    [InlineData("nkeyFile")]
    [InlineData("caFile")]
    public async Task A_missing_file_is_named_with_its_key(string key)
    {
        string missing = _dir.File("absent-" + key);
        string line = await RefusedAsync(Config($"\"{key}\": \"{missing}\""));
        Assert.Contains($"key 'nats.{key}': file \"{missing}\" does not exist", line);
    }

    [Fact]
    public async Task A_missing_client_certificate_or_key_is_named_with_its_key()
    {
        string cert = Private("client.pem", "cert"), key = Private("client.key", "key");
        string missing = _dir.File("absent.pem");
        Assert.Contains($"key 'nats.certFile': file \"{missing}\" does not exist",
            await RefusedAsync(Config($"\"certFile\": \"{missing}\", \"keyFile\": \"{key}\"")));
        Assert.Contains($"key 'nats.keyFile': file \"{missing}\" does not exist",
            await RefusedAsync(Config($"\"certFile\": \"{cert}\", \"keyFile\": \"{missing}\"")));
    }

    [Fact]
    public async Task A_certificate_without_its_key_is_refused()
    {
        string cert = Private("client.pem", "cert"), key = Private("client.key", "key");
        Assert.Contains("key 'nats.keyFile': nats.certFile and nats.keyFile go together", await RefusedAsync(Config($"\"certFile\": \"{cert}\"")));
        Assert.Contains("key 'nats.certFile': nats.certFile and nats.keyFile go together", await RefusedAsync(Config($"\"keyFile\": \"{key}\"")));
    }

    [Theory]
    [InlineData("creds+nkey")]
    [InlineData("creds+user")]
    [InlineData("nkey+token")]
    public async Task Two_ways_to_authenticate_are_refused(string which)
    {
        string creds = Private("u.creds", "creds"), nkey = Private("u.nk", "SU");
        string nats = which switch
        {
            "creds+nkey" => $"\"credsFile\": \"{creds}\", \"nkeyFile\": \"{nkey}\"",
            "creds+user" => $"\"credsFile\": \"{creds}\", \"user\": \"u\", \"password\": \"{Secret}\"",
            _ => $"\"nkeyFile\": \"{nkey}\", \"token\": \"{Secret}\"",
        };
        string line = await RefusedAsync(Config(nats));
        Assert.Contains("set one way to authenticate", line);
        Assert.Contains(which.StartsWith("creds", StringComparison.Ordinal) ? "key 'nats.credsFile'" : "key 'nats.nkeyFile'", line);
    }

    [Theory]
    [InlineData("credsFile")]
    [InlineData("nkeyFile")]
    [InlineData("keyFile")]
    public async Task A_secret_file_readable_by_others_is_refused(string key)
    {
        string file = _dir.Write("secret-" + key, "SUAB");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        string nats = key == "keyFile" ? $"\"certFile\": \"{Private("c.pem", "c")}\", \"keyFile\": \"{file}\"" : $"\"{key}\": \"{file}\"";
        string line = await RefusedAsync(Config(nats));
        Assert.Contains($"key 'nats.{key}': file \"{file}\" holds a secret and is readable by others (mode 0644)", line);
    }

    [Theory]
    [InlineData("password")]
    [InlineData("token")]
    [InlineData("url")]
    public async Task A_world_readable_config_holding_a_secret_is_refused_naming_the_file_and_its_mode(string which)
    {
        string nats = which switch
        {
            "password" => $"\"user\": \"agent\", \"password\": \"{Secret}\"",
            "token" => $"\"token\": \"{Secret}\"",
            _ => $"\"servers\": [\"nats://agent:{Secret}@127.0.0.1:4222\"]",
        };
        var worldReadable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        string config = Config(nats, worldReadable);
        string line = await RefusedAsync(config);
        Assert.Equal($"kraud-agent: config {config}: holds a secret (nats.password, nats.token or a URL with credentials) and is readable by others (mode 0644); chmod o-rwx it", line);

        // The same file readable by its owner and group only is accepted.
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var loaded = ConfigLoader.Load(config, new Hashtable());
        Assert.Equal("h1", loaded.Host);
    }

    [Fact]
    public void A_world_readable_config_without_a_secret_is_accepted()
    {
        // The secret is in an owner-only file: the config naming it may be world-readable.
        string nkey = Private("u.nk", "SU");
        string config = Config($"\"nkeyFile\": \"{nkey}\"", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Assert.Equal(nkey, ConfigLoader.Load(config, new Hashtable()).Nats.NkeyFile);
    }

    [Theory]
    [InlineData("password", "[\"" + Secret + "\"]", "a list")]
    [InlineData("password", "{ \"v\": \"" + Secret + "\" }", "an object")]
    [InlineData("token", "31337" + "0", "a number")]
    public async Task A_wrong_typed_secret_is_named_by_its_type_never_echoed(string key, string value, string type)
    {
        string nats = key == "password" ? $"\"user\": \"agent\", \"password\": {value}" : $"\"token\": {value}";
        string line = await RefusedAsync(Config(nats));
        Assert.EndsWith($"key 'nats.{key}': expected a string, got {type}", line);
        Assert.DoesNotContain("313370", line);
    }

    public void Dispose() => _dir.Dispose();
}
