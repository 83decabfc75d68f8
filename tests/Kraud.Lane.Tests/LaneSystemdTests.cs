namespace Kraud.Lane.Tests;

/// <summary>The lane's systemd mode: systemd is PID 1 on the overlay root, a unit can be started and
/// report READY, and its journal lines can be read — what packaging tests of the agent's .deb need.</summary>
[Collection(LaneBoots.Name)]
[Trait("lane", "boot")]
public sealed class LaneSystemdTests
{
    // A notify unit like the agent's: it logs, says READY over sd_notify, and keeps running.
    private const string ProbeUnit = """
        [Unit]
        Description=lane probe
        [Service]
        Type=notify
        NotifyAccess=all
        ExecStart=/bin/sh -c 'echo probe-starting; systemd-notify --ready; echo probe-ready; exec sleep infinity'
        """;

    [Fact]
    public async Task Systemd_mode_reaches_running_and_a_units_journal_is_readable()
    {
        var outDir = Directory.CreateTempSubdirectory("kraud-lane-test-systemd-").FullName;
        try
        {
            var script = string.Join("\n",
                "printf '%s\\n' \"$PROBE_UNIT\" > /etc/systemd/system/lane-probe.service",
                "cat /proc/1/comm > /lane-out/pid1",
                "systemctl is-system-running --wait > /lane-out/state",
                "systemctl daemon-reload",
                "systemctl start lane-probe.service || exit 10",
                "systemctl show -p ActiveState --value lane-probe.service > /lane-out/active",
                // journald receives the unit's stdout asynchronously: poll for the line, with a deadline.
                "for i in $(seq 200); do journalctl -u lane-probe.service -o cat > /lane-out/journal; grep -q probe-ready /lane-out/journal && break; sleep 0.05; done",
                "exit 0");
            // systemd's boot is the slowest thing the lane does under TCG: a wider limit than plain runs.
            var r = await Lane.RunAsync(["--systemd", "--out", outDir, "--env", "PROBE_UNIT=" + ProbeUnit, "--", "bash", "-c", script],
                TimeSpan.FromSeconds(480));
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal("systemd", File.ReadAllText(Path.Combine(outDir, "pid1")).Trim());
            Assert.Contains(File.ReadAllText(Path.Combine(outDir, "state")).Trim(), new[] { "running", "degraded" });
            Assert.Equal("active", File.ReadAllText(Path.Combine(outDir, "active")).Trim());
            var journal = File.ReadAllLines(Path.Combine(outDir, "journal"));
            Assert.Contains("probe-starting", journal);
            Assert.Contains("probe-ready", journal);
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }
}
