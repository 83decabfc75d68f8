using Kraud.Agent.Tests.ControlPlane;

namespace Kraud.Agent.Tests.Config;

/// <summary>
/// Secrets stay secret (issue 12, defect 5): a password inside a server URL reaches no log line, no STATUS line and
/// no `doctor` output, and the state directory is owner-only whatever the umask the agent was started with.
/// </summary>
public sealed class SecretsTests : IAsyncLifetime
{
    private const string Password = "s3cr3t-Pa55";
    private readonly TempDir _dir = new();
    private NatsServer _nats = null!;

    public async Task InitializeAsync() => _nats = await NatsServer.StartAsync(new NatsServerOptions { User = "agent", Password = Password });

    public async Task DisposeAsync()
    {
        await _nats.DisposeAsync();
        _dir.Dispose();
    }

    private string Url => $"nats://agent:{Password}@127.0.0.1:{_nats.Port}";

    [Fact]
    public async Task A_password_in_a_server_url_is_never_printed_and_the_state_dir_is_owner_only_under_umask_0()
    {
        string state = _dir.File("state");
        string config = _dir.Write("agent.json", $$"""{ "host": "hs", "stateDir": "{{state}}", "nats": { "servers": ["{{Url}}"] }, "log": { "level": "debug" } }""");
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var notify = new NotifyListener();
        // umask 000: every file the agent makes would be world-writable if it trusted the umask.
        using var agent = AgentProcess.Start(["-c", "umask 000; exec \"$0\" run --config \"$1\"", AgentBinary.Path, config],
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Address }, binary: "/bin/sh");
        await Deadline.WaitUntilAsync(() => notify.Messages.Any(m => m.Text.StartsWith("STATUS=Ready: host", StringComparison.Ordinal)) || agent.HasExited,
            TimeSpan.FromSeconds(30), "the agent to serve");
        Assert.False(agent.HasExited, string.Join("\n", agent.Stderr));

        await using (var cp = await TestControlPlane.ConnectAsync(Url))
        {
            await cp.PublishAsync("hs", "Probe", "p1", 1);
            await cp.WaitForStatusAsync("hs", "probe", "p1", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
        }
        agent.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        string everything = string.Join("\n", agent.Stderr) + string.Join("\n", notify.Messages.Select(m => m.Text));
        Assert.DoesNotContain(Password, everything);
        Assert.Contains($"nats://***@127.0.0.1:{_nats.Port}", everything); // the URL is still named, without its secret

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(state));
        var files = Directory.GetFiles(state, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files); // the applied spec of p1 at least
        foreach (string f in files)
            Assert.True((File.GetUnixFileMode(f) & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) == 0, $"{f} is {File.GetUnixFileMode(f)}");
        foreach (string d in Directory.GetDirectories(state, "*", SearchOption.AllDirectories))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(d));
    }

    [Fact]
    public async Task Doctor_names_the_server_without_its_password()
    {
        using var doctor = AgentProcess.Start(["doctor"], new Dictionary<string, string?>
        {
            ["KRAUD_HOST"] = "hs",
            ["KRAUD_NATS__SERVERS__0"] = Url,
            ["KRAUD_STATEDIR"] = _dir.File("doctor-state"),
            ["KRAUD_AGENT_CONFIG"] = _dir.File("absent.json"),
        });
        await doctor.WaitForExitAsync(TimeSpan.FromSeconds(30));
        string output = string.Join("\n", doctor.Stdout.Concat(doctor.Stderr));
        Assert.Contains($"127.0.0.1:{_nats.Port}", output);
        Assert.DoesNotContain(Password, output);
    }

    [Fact]
    public async Task A_config_file_with_a_secret_that_others_can_read_is_refused_naming_the_file_and_its_mode()
    {
        string config = _dir.Write("open.json", $$"""{ "host": "hs", "stateDir": "{{_dir.File("s2")}}", "nats": { "servers": ["{{Url}}"] } }""");
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using var agent = AgentProcess.Start(["run", "--config", config]);
        Assert.Equal(78, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        string err = string.Join("\n", agent.Stderr);
        Assert.Contains(config, err);
        Assert.Contains("mode 0644", err);
        Assert.DoesNotContain(Password, err);
    }
}
