namespace Kraud.Agent.Tests.Config;

/// <summary>A bad configuration stops the binary before READY with exit 78 and one line naming the file and the key.</summary>
public sealed class ConfigErrorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public static TheoryData<string, string?, string> Cases => new()
    {
        // name, file content (null: no file), what the one line must contain
        { "missing file", null, "file not found" },
        { "invalid JSON", "{ \"host\": \"h1\", ", "invalid JSON at line 1" },
        { "unknown key", "{ \"host\": \"h1\", \"concurency\": 4 }", "key 'concurency': unknown key" },
        { "unknown nested key", "{ \"host\": \"h1\", \"nats\": { \"server\": [] } }", "key 'nats.server': unknown key" },
        { "bad host id", "{ \"host\": \"H1_bad\" }", "key 'host': \"H1_bad\" is not a valid host id" },
        { "wrong type", "{ \"host\": \"h1\", \"concurrency\": \"eight\" }", "key 'concurrency': expected an integer, got the string \"eight\"" },
        { "wrong type in list", "{ \"host\": \"h1\", \"nats\": { \"servers\": [4222] } }", "key 'nats.servers[0]': expected a string, got the number 4222" },
        { "bad url", "{ \"host\": \"h1\", \"nats\": { \"servers\": [\"http://x\"] } }", "key 'nats.servers[0]': \"http://x\" is not a nats:// or tls:// URL" },
        { "missing host", "{ }", "key 'host': required" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Exits_78_with_one_clear_line_and_no_ready(string name, string? content, string expected)
    {
        string path = content is null ? _dir.File("absent.json") : _dir.Write("agent.json", content);
        using var notify = new NotifyListener();
        using var agent = AgentProcess.Start(["run", "--config", path], new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Address });
        int exit = await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.True(exit == 78, $"{name}: exit {exit}, stderr: {string.Join('\n', agent.Stderr)}");
        var line = Assert.Single(agent.Stderr);
        Assert.StartsWith($"kraud-agent: config {path}: ", line);
        Assert.Contains(expected, line);
        Assert.False(notify.Has("READY=1"), name + ": READY=1 must not be sent");
    }

    [Fact]
    public async Task Names_the_environment_variable_when_an_override_is_wrong()
    {
        string path = _dir.Write("agent.json", "{ \"host\": \"h1\" }");
        using var agent = AgentProcess.Start(["run"], new Dictionary<string, string?>
        {
            ["KRAUD_AGENT_CONFIG"] = path,
            ["KRAUD_CONCURRENCY"] = "lots",
        });
        Assert.Equal(78, await agent.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("kraud-agent: config environment KRAUD_CONCURRENCY: key 'concurrency': expected an integer, got the string \"lots\"", Assert.Single(agent.Stderr));
    }

    public void Dispose() => _dir.Dispose();
}
