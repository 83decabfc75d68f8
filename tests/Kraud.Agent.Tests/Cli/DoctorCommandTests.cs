namespace Kraud.Agent.Tests.Cli;

/// <summary>`doctor` tells this machine's truth, compared with what the kernel and PATH say.</summary>
public sealed class DoctorCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    private async Task<(int Exit, Dictionary<string, string> Lines)> DoctorAsync(string servers)
    {
        using var doctor = AgentProcess.Start(["doctor"], new Dictionary<string, string?>
        {
            ["KRAUD_HOST"] = "h1",
            ["KRAUD_NATS__SERVERS__0"] = servers,
            ["KRAUD_STATEDIR"] = _dir.File("state"),
            ["KRAUD_AGENT_CONFIG"] = _dir.File("absent.json"),
        });
        int exit = await doctor.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var lines = doctor.Stdout.Where(l => l.Length > 30).ToDictionary(l => l[6..30].Trim(), l => l);
        return (exit, lines);
    }

    [Fact]
    public async Task Reports_the_hosts_capabilities_and_fails_without_nats()
    {
        int port = FreePort.Next();
        var (exit, lines) = await DoctorAsync($"nats://127.0.0.1:{port}");

        Assert.Equal(69, exit); // no NATS server is required-missing
        Assert.StartsWith("FAIL", lines[$"nats 127.0.0.1:{port}"]);
        Assert.StartsWith("ok", lines["netlink"]);
        Assert.StartsWith(File.Exists("/dev/kvm") ? "ok" : "miss", lines["kvm"]);
        Assert.StartsWith(Directory.Exists("/sys/module/zfs") ? "ok" : "miss", lines["zfs"]);
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        bool wgModule = Directory.Exists("/sys/module/wireguard") || (File.Exists($"/lib/modules/{release}/modules.dep") && File.ReadAllText($"/lib/modules/{release}/modules.dep").Contains("/wireguard.ko"));
        bool wgGo = new[] { "/usr/bin/wireguard-go", "/usr/sbin/wireguard-go", "/usr/local/bin/wireguard-go" }.Any(File.Exists);
        string wg = lines["wireguard"];
        if (wgModule) Assert.Contains("kernel module", wg);
        else if (wgGo) Assert.Contains("userspace wireguard-go", wg);
        else Assert.StartsWith("miss", wg);
        Assert.Contains("fix:", lines["zfs"] + lines["nats 127.0.0.1:" + port]);
    }

    public void Dispose() => _dir.Dispose();
}
