using Kraud.Agent.Tests.ControlPlane;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Systemd.DBus;
using Kraud.Vmm.Tests;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// The agent as an operator installs it, in the kernel lane booted with systemd: the .deb built on the host
/// (scripts/publish, packaging/debian/build-deb), the idle test guest as the guest package `default`, and a
/// configuration pointing at the test's nats-server. Installed once per lane boot; a later test only writes its
/// configuration and restarts the agent.
/// </summary>
internal static class InstalledAgentLane
{
    public const string RunDir = "/run/kraud/vm", DropIns = "/run/systemd/system";
    /// <summary>The tests of the installed agent share one agent, one configuration and one systemd: never two at once.</summary>
    public const string Collection = "installed-agent-lane";

    public static void RequireSystemd()
    {
        string pid1 = File.Exists("/proc/1/comm") ? File.ReadAllText("/proc/1/comm").Trim() : "";
        if (pid1 != "systemd")
            throw new InvalidOperationException($"This test needs systemd as PID 1 (here: '{pid1}'): tests/lane/test-in-lane --systemd tests/Kraud.Agent.Tests " +
                "(after scripts/publish and packaging/debian/build-deb on the host); the host run filters it out with lane!=systemd.");
        string system = Cmd.TryRun("systemctl", "is-system-running", "--wait").Output.Trim();
        Assert.True(system is "running" or "degraded", "systemd did not finish its boot: " + system);
    }

    /// <summary>Writes the configuration and the guest package, installs the package (first time) or restarts the agent, and
    /// waits for it to be active (READY=1) and to have written its host record (its streams and buckets exist then).</summary>
    public static async Task StartAsync(SystemdManager systemd, string host, NatsServer nats, TestControlPlane cp, BaliSigner signer)
    {
        string natsUrl = nats.Url;
        Directory.CreateDirectory("/etc/kraud");
        File.WriteAllText("/etc/kraud/agent.json", $$"""
            { "host": "{{host}}", "nats": { "servers": ["{{natsUrl}}"] }, "stateDir": "/var/lib/kraud",
              "trustedImageKeys": ["{{signer.Identity}}"] }
            """);
        string guest = "/usr/lib/kraud/guest/default";
        Directory.CreateDirectory(guest);
        File.Copy(TestGuests.Path("idle"), Path.Combine(guest, "kernel"), overwrite: true);
        File.WriteAllText(Path.Combine(guest, "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel"}}""");
        if (File.Exists("/usr/bin/kraud-agent"))
        {
            var restarted = await systemd.RestartUnitAsync("kraud-agent.service");
            Assert.True(restarted.Succeeded, restarted.ToString());
        }
        else
        {
            var debs = new DirectoryInfo(Path.Combine(RepoPaths.Root, "artifacts")).GetFiles("kraud-agent_*_amd64.deb").OrderByDescending(f => f.LastWriteTimeUtc).ToList();
            Assert.True(debs.Count > 0, "no artifacts/kraud-agent_*.deb: build it on the host first (scripts/publish && packaging/debian/build-deb)");
            // journald on the lane's console would lose UNIT= on systemd's own lines; a host logs to the journal.
            Cmd.TryRun("systemd-analyze", "set-log-target", "journal-or-kmsg");
            // The host root's policy-rc.d (a docker image's) forbids package scripts to start services; a real host has none.
            File.Delete("/usr/sbin/policy-rc.d");
            var (code, output) = Cmd.TryRun("dpkg", "-i", debs[0].FullName);
            Assert.True(code == 0, "dpkg -i: " + output);
        }
        await Deadline.WaitUntilAsync(async () => (await systemd.GetUnitStateAsync("kraud-agent.service")).ActiveState == UnitActiveState.Active,
            TimeSpan.FromSeconds(120), "kraud-agent.service active (READY=1)", 500);
        await Deadline.WaitUntilAsync(async () =>
        {
            try { return await cp.GetHostAsync(host) is not null; }
            catch (NATS.Client.Core.NatsException) { return false; } // the bucket is not there yet, or JetStream is slow (TCG)
        }, TimeSpan.FromSeconds(120), "the agent's host record", 500);
    }

    /// <summary>A pod spec with one container of a signed bali image (one file per test, so its generations are equal).</summary>
    public static string BaliImage(BaliSigner signer, out string sha256)
    {
        string image = Path.Combine("/var/tmp", $"lane-app-{Guid.NewGuid():N}.tar.gz");
        sha256 = signer.WriteImage(image, BaliSigner.Tar(("bin/app", "lane app\n"))).Hex;
        return "file://" + image;
    }

    public static string Cmdline(int pid) => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');

    public static string JournalText(string unit) => Cmd.TryRun("journalctl", "-u", unit, "-o", "short-precise", "--no-pager").Output;

    /// <summary>Stops and forgets units a test started or made (a test leaves the lane's systemd as it found it).</summary>
    public static async Task StopAsync(SystemdManager systemd, params string[] units)
    {
        foreach (var unit in units)
        {
            try { await systemd.StopUnitAsync(unit); await systemd.ResetFailedUnitAsync(unit); }
            catch (SystemdException) { }
        }
    }
}
