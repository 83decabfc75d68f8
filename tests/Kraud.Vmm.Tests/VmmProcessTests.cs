using System.Diagnostics;
using System.Text.Json.Nodes;
using Kraud.Testing;

namespace Kraud.Vmm.Tests;

/// <summary>
/// The native binaries as systemd runs them: `kraud-agent vmm --config FILE` (the contract's command, which
/// becomes kraud-vmm in the same process) and kraud-vmm itself, on the real /dev/kvm with the test guests.
/// </summary>
public sealed class VmmProcessTests : IDisposable
{
    private readonly TempDir _dir = new("kraud-vmm-process-");

    public void Dispose() => _dir.Dispose();

    private string SerialLog => Path.Combine(_dir.Path, "serial.log");

    private string WriteLaunch(string guest, Action<JsonObject>? edit = null)
    {
        var launch = new JsonObject
        {
            ["id"] = "proc-vm", ["vcpus"] = 1, ["memoryMiB"] = 64, ["kernel"] = TestGuests.Path(guest), ["initrd"] = null,
            ["cmdline"] = "console=ttyS0", ["serialLog"] = SerialLog, ["disks"] = new JsonArray(), ["nets"] = new JsonArray(),
        };
        edit?.Invoke(launch);
        string path = Path.Combine(_dir.Path, "launch.json");
        File.WriteAllText(path, launch.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AGuestThatPowersOff_EndsWithExit0_ItsSerialInTheLogAndOnStderr(bool viaAgent)
    {
        using var p = VmmProcess.Start(viaAgent, "--config", WriteLaunch("hello"));
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
        Assert.True(code == VmmExitCode.PowerOff, $"exit {code}: {stderr}");
        Assert.Equal("hello from the kraud test guest\n", File.ReadAllText(SerialLog));
        Assert.Contains("serial: hello from the kraud test guest", stderr);
        Assert.Contains("vm started: ELF kernel", stderr);
        Assert.Contains("id=proc-vm", stderr);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LogKind_NamesTheKindOfEveryLineAboutTheVm(bool viaAgent)
    {
        using var p = VmmProcess.Start(viaAgent, "--config", WriteLaunch("hello"), "--log-kind", "Pod");
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
        Assert.True(code == VmmExitCode.PowerOff, $"exit {code}: {stderr}");
        var serial = stderr.Split('\n').Single(l => l.Contains("serial: hello from the kraud test guest", StringComparison.Ordinal));
        Assert.Contains("kind=Pod id=proc-vm", serial);
        Assert.DoesNotContain("kind=vm", stderr);
    }

    [Fact]
    public async Task KraudAgentVmm_BecomesKraudVmm_AndSigtermStopsTheVm()
    {
        using var p = VmmProcess.Start(viaAgent: true, "--config", WriteLaunch("idle"));
        var stderr = await WaitForIdleGuest(p);
        // Same pid, now the VMM's binary: systemd keeps tracking the process it started.
        Assert.Equal(Path.GetFullPath(AgentBinary.VmmPath), new FileInfo($"/proc/{p.Id}/exe").LinkTarget);
        await AssertStoppedBy(p, 15, stderr);
    }

    [Fact]
    public async Task ARunningVmm_LoadsNoLibraryButLibc_AndSigintStopsIt()
    {
        using var p = VmmProcess.Start(viaAgent: false, "--config", WriteLaunch("idle"));
        var stderr = await WaitForIdleGuest(p);
        // The per-VM footprint (bench/kvm, under 5 MiB beyond guest memory) rests on this: libm came with the
        // thread pool and double formatting, and cost about 0.3 MiB in every VMM.
        var libraries = File.ReadAllLines($"/proc/{p.Id}/maps")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[5].Contains(".so", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(f[5])).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["ld-linux-x86-64.so.2", "libc.so.6"], libraries);
        // Ctrl-C in a terminal stops the VM the way `systemctl stop` does.
        await AssertStoppedBy(p, 2, stderr);
    }

    /// <summary>Waits for the idle guest's greeting in the serial log; returns the VMM's whole stderr to come.</summary>
    private async Task<Task<string>> WaitForIdleGuest(Process p)
    {
        var stderr = p.StandardError.ReadToEndAsync();
        await Deadline.WaitUntilAsync(() => File.Exists(SerialLog) && File.ReadAllText(SerialLog).Contains("idle guest up"),
            TimeSpan.FromSeconds(20), "the idle guest's greeting in the serial log");
        return stderr;
    }

    private static async Task AssertStoppedBy(Process p, int signal, Task<string> stderr)
    {
        ProcessSignals.Send(p.Id, signal);
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(p.ExitCode == VmmExitCode.Stopped, $"exit {p.ExitCode}: {await stderr}");
        Assert.Contains("stop requested", await stderr);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABadLaunchFile_Exits65_WithOneErrorNamingTheKey_AndTouchesNothing(bool viaAgent)
    {
        using var p = VmmProcess.Start(viaAgent, "--config", WriteLaunch("hello", l => l["memoryMiB"] = "lots"));
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
        Assert.True(code == VmmExitCode.InvalidLaunchFile, $"exit {code}: {stderr}");
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("'memoryMiB' must be a whole number", line);
        Assert.False(File.Exists(SerialLog), "a refused launch created the serial log");
    }

    [Fact]
    public async Task ATapTheHostCannotProvide_Exits69_AsTheContractSaysForAnUnavailableDevice()
    {
        // "lo" passes the launch file's name rule, but it is no tap: TUNSETIFF refuses it.
        using var p = VmmProcess.Start(viaAgent: true, "--config", WriteLaunch("hello",
            l => l["nets"] = new JsonArray(new JsonObject { ["tap"] = "lo", ["mac"] = "02:00:00:00:00:01" })));
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
        Assert.True(code == 69, $"exit {code}: {stderr}"); // the contract's number, not our constant
        Assert.Contains("TUNSETIFF lo", stderr);
        Assert.False(File.Exists(SerialLog) && File.ReadAllText(SerialLog).Length > 0, "the guest ran although its tap was missing");
    }

    [Fact]
    public async Task ATripleFault_Exits70_WithTheRegistersOnStderr()
    {
        using var p = VmmProcess.Start(viaAgent: false, "--config", WriteLaunch("triple"));
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
        Assert.True(code == VmmExitCode.GuestFault, $"exit {code}: {stderr}");
        Assert.Contains("triple fault", stderr);
        Assert.Contains("rip=", stderr);
    }

    [Theory]
    [InlineData(new string[0], "--config FILE is required")]
    [InlineData(new[] { "--config" }, "unexpected argument '--config'")]
    [InlineData(new[] { "--config", "x", "--log-level", "loud" }, "--log-level must be")]
    [InlineData(new[] { "--config", "x", "--log-kind", "no spaces" }, "--log-kind must be")]
    public async Task ABadCommandLine_Exits64_AndPointsAtHelp(string[] args, string expected)
    {
        using var p = VmmProcess.Start(viaAgent: false, args);
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(10));
        Assert.Equal(64, code);
        Assert.Contains(expected, stderr);
        Assert.Contains("kraud-vmm --help", stderr);
    }

    [Fact]
    public async Task Help_ExplainsTheExitCodes()
    {
        using var p = VmmProcess.Start(viaAgent: false, "--help");
        var (code, _, stdout) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        foreach (var text in new[] { "--config FILE", "65 the launch file was refused", "70 the guest", "SIGTERM" })
            Assert.Contains(text, stdout);
    }
}
