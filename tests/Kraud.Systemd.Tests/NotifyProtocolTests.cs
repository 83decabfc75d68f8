using Kraud.Testing;

namespace Kraud.Systemd.Tests;

/// <summary>The AOT binary under a fake systemd: READY, STATUS, STOPPING, WATCHDOG over NOTIFY_SOCKET.</summary>
public sealed class NotifyProtocolTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string Config() => _dir.Write("agent.json", $$"""
        { "host": "h1", "stateDir": "{{_dir.File("state")}}", "nats": { "servers": ["nats://127.0.0.1:1"] } }
        """);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sends_ready_then_status_and_stopping_before_exit_on_sigterm(bool abstractSocket)
    {
        using var notify = new NotifyListener(abstractSocket);
        using var agent = AgentProcess.Start(["run", "--config", Config()], new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Address });

        await Deadline.WaitUntilAsync(() => notify.Has("READY=1"), TimeSpan.FromSeconds(10), "READY=1");
        int ready = notify.IndexOf(m => m == "READY=1");
        // The datagram with READY=1 carries the current status: here, still trying to reach an absent NATS.
        string status = notify.Messages[ready + 1].Text;
        Assert.Matches("^STATUS=(Connecting|Reconnecting) to NATS nats://127.0.0.1:1", status);

        agent.Signal(ProcessSignals.SigTerm);
        int exit = await agent.WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, exit);
        var messages = notify.Messages;
        int stopping = notify.IndexOf(m => m == "STOPPING=1");
        Assert.True(stopping > ready, "STOPPING=1 after READY=1: " + string.Join(" | ", messages.Select(m => m.Text)));
    }

    [Fact]
    public async Task Pings_the_watchdog_at_least_every_half_period()
    {
        using var notify = new NotifyListener();
        using var agent = AgentProcess.Start(["run", "--config", Config()], new Dictionary<string, string?>
        {
            ["NOTIFY_SOCKET"] = notify.Address,
            ["WATCHDOG_USEC"] = "200000",
        });
        await Deadline.WaitUntilAsync(() => notify.Messages.Count(m => m.Text == "WATCHDOG=1") >= 15, TimeSpan.FromSeconds(10), "15 watchdog pings");
        var pings = notify.Messages.Where(m => m.Text == "WATCHDOG=1").Select(m => m.At).ToList();
        var gaps = pings.Zip(pings.Skip(1), (a, b) => (b - a).TotalMilliseconds).ToList();
        Assert.True(gaps.Max() <= 100, $"largest gap {gaps.Max():0.0} ms; gaps: {string.Join(", ", gaps.Select(g => g.ToString("0")))}");
        agent.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task Ignores_a_watchdog_meant_for_another_process()
    {
        using var notify = new NotifyListener();
        using var controlNotify = new NotifyListener();
        using var agent = AgentProcess.Start(["run", "--config", Config()], new Dictionary<string, string?>
        {
            ["NOTIFY_SOCKET"] = notify.Address,
            ["WATCHDOG_USEC"] = "200000",
            ["WATCHDOG_PID"] = "1",
        });
        await Deadline.WaitUntilAsync(() => notify.Has("READY=1"), TimeSpan.FromSeconds(10), "READY=1");
        // A control process started later, with the watchdog meant for it, proves pings would have arrived by now.
        using var control = AgentProcess.Start(["run", "--config", Config()], new Dictionary<string, string?>
        {
            ["NOTIFY_SOCKET"] = controlNotify.Address,
            ["WATCHDOG_USEC"] = "200000",
        });
        await Deadline.WaitUntilAsync(() => controlNotify.Messages.Count(m => m.Text == "WATCHDOG=1") >= 5, TimeSpan.FromSeconds(10), "pings from the control process");
        Assert.DoesNotContain(notify.Messages, m => m.Text == "WATCHDOG=1");
        agent.Signal(ProcessSignals.SigTerm);
        control.Signal(ProcessSignals.SigTerm);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(0, await control.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    public void Dispose() => _dir.Dispose();
}
