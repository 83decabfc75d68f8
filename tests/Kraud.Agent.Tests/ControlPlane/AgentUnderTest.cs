namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>A `kraud-agent run` process with its own state directory, config and notify socket.</summary>
public sealed class AgentUnderTest : IDisposable
{
    private readonly NotifyListener _notify = new();
    private readonly string _config;
    private readonly string? _netns;

    /// <param name="natsExtra">More members of the config's "nats" object (JSON), e.g. <c>"nkeyFile": "/path"</c>.</param>
    /// <param name="logLevel">log.level of the config.</param>
    /// <param name="configExtra">More top-level members of the config (JSON), e.g. <c>"replication": { ... }</c>.</param>
    /// <param name="netns">A named network namespace (`ip netns add`) the agent runs in, as another host would.</param>
    public AgentUnderTest(TempDir dir, string name, string host, string natsUrls, int concurrency = 8, int replicas = 1, int graceSeconds = 20,
        string? natsExtra = null, string logLevel = "information", string? configExtra = null, string? netns = null)
    {
        _netns = netns;
        StateDir = Path.Combine(dir.Path, name);
        Directory.CreateDirectory(StateDir);
        string servers = string.Join(",", natsUrls.Split(',').Select(u => $"\"{u}\""));
        _config = dir.Write(name + ".json", $$"""
            { "host": "{{host}}", "stateDir": "{{StateDir}}", "concurrency": {{concurrency}}, "replicas": {{replicas}},
              "shutdownGraceSeconds": {{graceSeconds}}, "log": { "level": "{{logLevel}}" },
              "nats": { "servers": [{{servers}}]{{(natsExtra is null ? "" : ", " + natsExtra)}} }{{(configExtra is null ? "" : ", " + configExtra)}} }
            """);
        // The config may hold a password: only its owner may read it (the agent refuses it otherwise).
        File.SetUnixFileMode(_config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Start();
    }

    public string StateDir { get; }
    public AgentProcess Process { get; private set; } = null!;
    public NotifyListener Notify => _notify;
    public string ProbeLog => Path.Combine(StateDir, "probe.log");

    public void Start()
    {
        var env = new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = _notify.Address };
        Process = _netns is null
            ? AgentProcess.Start(["run", "--config", _config], env)
            // nsenter, not `ip netns exec`: that one also gives the agent a mount namespace of its own, where the
            // test would not see the datasets it mounts.
            : AgentProcess.Start([$"--net=/run/netns/{_netns}", "--", AgentBinary.Path, "run", "--config", _config], env, binary: "nsenter");
    }

    /// <summary>Waits until the engine serves (STATUS=Ready: host …, serving …).</summary>
    public Task WaitServingAsync(int times = 1, TimeSpan? timeout = null) => Deadline.WaitUntilAsync(
        () => _notify.Messages.Count(m => m.Text.StartsWith("STATUS=Ready: host", StringComparison.Ordinal)) >= times || Process.HasExited,
        timeout ?? TimeSpan.FromSeconds(30), "the agent to serve");

    public async Task RestartAsync()
    {
        Process.Dispose();
        int before = _notify.Messages.Count(m => m.Text.StartsWith("STATUS=Ready: host", StringComparison.Ordinal));
        Start();
        await WaitServingAsync(before + 1);
    }

    /// <summary>
    /// Lines of probe.log: (event, id, generation, attempt, pid, monotonic ns). Only lines that end in their newline:
    /// the agents append while the test reads, and a read can catch a line half written.
    /// </summary>
    public IReadOnlyList<ProbeEvent> ProbeEvents()
    {
        if (!File.Exists(ProbeLog)) return [];
        string text = File.ReadAllText(ProbeLog);
        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Select(p => new ProbeEvent(p[0], p[1], long.Parse(p[2]), int.Parse(p[3]), int.Parse(p[4]), long.Parse(p[5])))
            .ToList();
    }

    public void Dispose()
    {
        Process.Dispose();
        _notify.Dispose();
    }
}

public sealed record ProbeEvent(string What, string Id, long Generation, int Attempt, int Pid, long Ns);
