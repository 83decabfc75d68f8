using System.Globalization;
using Xunit.Abstractions;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>
/// The resident memory of an idle `kraud-agent run` (the AOT binary) connected to a real nats-server, after it has
/// served a resource: every host runs one, so its footprint is a figure the project holds (issue 18; bench/startup
/// measures it beside other binaries). What the figure is made of is in bench/startup/README.md.
/// </summary>
public sealed class IdleFootprintTests(ITestOutputHelper output) : NatsTestBase
{
    /// <summary>
    /// The bound this build holds: measured 24.3–25.5 MiB (bench/startup), and a first run on a machine at load 17
    /// stayed above 26 MiB (the thread pool adds workers under load, each with a stack and a malloc arena), hence
    /// 27. Issue 18's goal is 20 MiB; the gap is the binary's own pages and OpenSSL, which NATS.Net loads for its
    /// inbox names (bench/startup/README.md).
    /// </summary>
    private const long BoundKib = 27 * 1024;

    [Fact]
    public async Task An_idle_connected_agent_stays_under_its_resident_memory_bound()
    {
        using var agent = new AgentUnderTest(Dir, "idle", "fp", Nats.Url, logLevel: "warning");
        await agent.WaitServingAsync();
        await Cp.PublishAsync("fp", "Probe", "one", 1);
        await Cp.WaitForStatusAsync("fp", "probe", "one", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));

        // Start-up's garbage is collected shortly after the agent serves (MemoryTrim); idle means after that.
        var last = new Dictionary<string, long>();
        try
        {
            await Deadline.WaitUntilAsync(() => (last = Status(agent.Process.Pid))["VmRSS"] <= BoundKib, TimeSpan.FromSeconds(15), "RSS under the bound");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"idle RSS {last["VmRSS"] / 1024.0:0.0} MiB (anon {last["RssAnon"] / 1024.0:0.0}, file {last["RssFile"] / 1024.0:0.0}, " +
                $"{last["Threads"]} threads), bound {BoundKib / 1024.0:0.0} MiB");
        }
        output.WriteLine($"idle RSS {last["VmRSS"] / 1024.0:0.0} MiB (anon {last["RssAnon"] / 1024.0:0.0}, file {last["RssFile"] / 1024.0:0.0}, {last["Threads"]} threads)");
        Assert.False(agent.Process.HasExited);
    }

    private static Dictionary<string, long> Status(int pid)
    {
        var values = new Dictionary<string, long>();
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            var parts = line.Split([':', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts is [var name, var value, ..] && name is "VmRSS" or "RssAnon" or "RssFile" or "Threads")
                values[name] = long.Parse(value, CultureInfo.InvariantCulture);
        }
        return values;
    }
}
