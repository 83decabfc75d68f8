using System.Text.Json.Nodes;

namespace Kraud.Lane.Tests.Package;

/// <summary>
/// The Debian package on a systemd machine, as an operator installs it: one lane boot in systemd mode
/// (<see cref="PackageLaneRun"/>) runs `apt-get install ./kraud-agent_*.deb`, watches the agent run without
/// NATS, stops it, starts a VM unit with a refused launch file, and removes the package. Each test checks one
/// part of what that boot recorded.
/// </summary>
[Collection(LaneBoots.Name)]
[Trait("lane", "boot")]
public sealed class PackageLaneTests(PackageLaneRun run) : IClassFixture<PackageLaneRun>
{
    private const string Nats = "nats://127.0.0.1:4222";

    [Fact]
    public void Postinst_writes_the_configuration_enables_and_starts_the_agent()
    {
        var why = run.Evidence("install.rc", "install.log", "hostname", "agent.json", "config-stat", "enabled", "agent-installed", "files-installed");
        Assert.True(run.Result.ExitCode == 0, why + run.Result);
        Assert.True(run.Text("install.rc") == "0", why);

        var config = JsonNode.Parse(run.Text("agent.json"))!;
        Assert.Equal(run.Text("hostname"), (string?)config["host"]); // the machine's short name, as postinst derives it
        Assert.Equal(Nats, (string?)config["nats"]!["servers"]![0]);
        Assert.Equal("/var/lib/kraud", (string?)config["stateDir"]);
        // The configuration may hold credentials later; the state directory holds the agent's work.
        Assert.Equal(["640 root:root", "700 root:root"], run.Text("config-stat").Split('\n'));

        Assert.True(run.Text("enabled") == "enabled", why);
        var state = run.Props("agent-installed");
        Assert.True(state.GetValueOrDefault("ActiveState") == "active", why);
        Assert.DoesNotContain("No such file", run.Text("files-installed"));
        // systemd's own check of the installed units (bad directives, missing binaries, unresolvable paths).
        Assert.True(!run.Text("verify").Split('\n').Any(l => l.StartsWith("kraud-", StringComparison.Ordinal)), run.Evidence("verify"));
    }

    [Fact]
    public void The_agent_runs_as_a_ready_notify_service_and_its_status_says_it_waits_for_NATS()
    {
        var why = run.Evidence("agent-running", "status-timeline", "status-running.txt");
        var state = run.Props("agent-running");
        Assert.True(state.GetValueOrDefault("Type") == "notify", why);
        Assert.True(state.GetValueOrDefault("NotifyAccess") == "main", why);
        // active (running) for Type=notify: systemd received READY=1 from the main process.
        Assert.True(state.GetValueOrDefault("ActiveState") == "active" && state.GetValueOrDefault("SubState") == "running", why);
        Assert.True(state.GetValueOrDefault("NRestarts") == "0", why);
        // WatchdogSec=30s: the stamp of the last WATCHDOG=1 moved while the test watched (the agent pings every 7.5 s).
        var watchdog = run.Text("watchdog").Split(' ');
        Assert.True(watchdog.Length == 3 && watchdog[0] == "30s" && watchdog[1] != watchdog[2] && watchdog[2] != "0", why + run.Evidence("watchdog"));
        // No NATS in the lane: the agent keeps running, retries, and says so in STATUS=.
        Assert.True(state.GetValueOrDefault("StatusText", "").StartsWith($"Waiting for NATS JetStream at {Nats}: ", StringComparison.Ordinal), why);
        var status = run.Text("status-running.txt");
        Assert.Contains("active (running)", status);
        Assert.Contains($"Status: \"Waiting for NATS JetStream at {Nats}", status);
    }

    [Fact]
    public void The_agents_journal_entries_carry_its_identifier_and_KRAUD_fields()
    {
        var why = run.Evidence("agent-journal.txt");
        var agent = run.Journal("agent-journal.json")
            .Where(e => e.TryGetValue("SYSLOG_IDENTIFIER", out var id) && id.Contains("kraud-agent")).ToList();
        Assert.True(agent.Count > 0, why);
        // Native protocol entries: every one names its category, and the unit is the agent's.
        Assert.All(agent, e => Assert.True(e.ContainsKey("KRAUD_CATEGORY"), why));
        Assert.All(agent, e => Assert.Equal(["kraud-agent.service"], e.GetValueOrDefault("_SYSTEMD_UNIT", [])));

        var starting = agent.FirstOrDefault(e => e.ContainsKey("KRAUD_HOST") && e.ContainsKey("KRAUD_SERVERS"));
        Assert.True(starting is not null, "no start line with KRAUD_HOST and KRAUD_SERVERS\n" + why);
        Assert.Equal([run.Text("hostname")], starting["KRAUD_HOST"]);
        Assert.Equal([Nats], starting["KRAUD_SERVERS"]);
        Assert.Equal(["/var/lib/kraud"], starting["KRAUD_STATE_DIR"]);
        Assert.Equal(["Kraud.Agent.Daemon"], starting["KRAUD_CATEGORY"]);

        var statuses = agent.Where(e => e.ContainsKey("KRAUD_STATUS")).Select(e => e["KRAUD_STATUS"][0]).ToList();
        Assert.True(statuses.Any(s => s.StartsWith("Waiting for NATS JetStream at ", StringComparison.Ordinal)), why);
        Assert.Contains("Stopping: finishing running work", statuses);
        Assert.Contains(agent, e => e["PRIORITY"].Contains("6") && e["MESSAGE"].Contains("stopped"));
    }

    [Fact]
    public void Stop_ends_the_agent_cleanly_within_its_grace()
    {
        var why = run.Evidence("stop.rc", "stop.log", "stop-seconds", "agent-stopped", "status-stopped.txt", "agent-journal.txt");
        Assert.True(run.Text("stop.rc") == "0", why);
        var state = run.Props("agent-stopped");
        Assert.True(state.GetValueOrDefault("ActiveState") == "inactive", why);
        Assert.True(state.GetValueOrDefault("Result") == "success", why); // not timeout, not signal
        Assert.True(state.GetValueOrDefault("ExecMainCode") == "1" && state.GetValueOrDefault("ExecMainStatus") == "0", why); // exited, 0
        // TimeoutStopSec=45 s: a clean stop ends well before systemd would SIGKILL.
        Assert.True(double.Parse(run.Text("stop-seconds"), System.Globalization.CultureInfo.InvariantCulture) < 45, why);
        var journal = run.Text("agent-journal.txt");
        Assert.Contains("received SIGTERM, shutting down", journal);
        Assert.Contains("kraud-agent.service: Deactivated successfully.", journal);
    }

    [Fact]
    public void A_refused_launch_file_fails_the_vm_unit_with_65_and_is_not_restarted()
    {
        var why = run.Evidence("vm-start.rc", "vm-start.log", "vm-ended", "status-vm.txt", "vm-journal.txt");
        var state = run.Props("vm-ended");
        Assert.True(state.GetValueOrDefault("ActiveState") == "failed", why);
        Assert.True(state.GetValueOrDefault("Result") == "exit-code", why);
        Assert.True(state.GetValueOrDefault("ExecMainStatus") == "65", why); // EX_DATAERR: the launch file was refused
        Assert.True(state.GetValueOrDefault("NRestarts") == "0", why);

        var refusal = run.Journal("vm-journal.json").FirstOrDefault(e =>
            e.TryGetValue("MESSAGE", out var m) && m.Any(x => x.Contains("refused", StringComparison.Ordinal)));
        Assert.True(refusal is not null, "no refusal line in the unit's journal\n" + why);
        Assert.Equal(["bad"], refusal["KRAUD_ID"]);
        Assert.Equal(["Pod"], refusal["KRAUD_KIND"]); // the unit runs pods only: LogExtraFields=KRAUD_KIND=Pod
        Assert.Equal(["kraud-vmm"], refusal["SYSLOG_IDENTIFIER"]);
        Assert.Contains("/var/lib/kraud/images/no-such-vmlinux", refusal["MESSAGE"][0]);
    }

    [Fact]
    public void Removing_the_package_stops_the_agent_and_removes_its_files()
    {
        var why = run.Evidence("agent-before-remove", "remove.rc", "remove.log", "agent-removed", "deactivated-before-remove",
            "deactivated-after-remove", "agent-processes-after-remove", "files-removed", "dpkg-status-removed", "agent-journal-final.txt");
        var before = run.Props("agent-before-remove");
        Assert.True(before.GetValueOrDefault("ActiveState") == "active", why); // so removal has something to stop
        Assert.True(run.Text("remove.rc") == "0", why);

        var after = run.Props("agent-removed");
        Assert.True(after.GetValueOrDefault("LoadState") == "not-found" && after.GetValueOrDefault("ActiveState") == "inactive", why);
        // prerm's stop was clean: one more "Deactivated successfully" (a timeout or a failure logs otherwise).
        Assert.True(int.Parse(run.Text("deactivated-after-remove")) == int.Parse(run.Text("deactivated-before-remove")) + 1, why);
        Assert.True(run.Text("agent-processes-after-remove") == "none", why);
        Assert.Equal(4, run.Text("files-removed").Split('\n').Count(l => l.Contains("No such file or directory")));
        Assert.True(run.Text("dpkg-status-removed") == "deinstall ok config-files", why);
    }
}
