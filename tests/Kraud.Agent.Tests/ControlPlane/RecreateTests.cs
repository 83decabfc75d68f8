namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>A resource deleted and then created again, by the control plane or with `kraud-agent apply`.</summary>
public sealed class RecreateTests : ServingAgentTestBase
{
    [Fact]
    public async Task A_resource_created_again_after_its_delete_reports_ready_even_when_its_generation_starts_over()
    {
        await Cp.PublishAsync("h1", "Probe", "again", 1);
        await Cp.WaitForStatusAsync("h1", "probe", "again", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
        await Cp.PublishAsync("h1", "Probe", "again", 2, deleted: true);
        await Cp.WaitForStatusAsync("h1", "probe", "again", s => s.Phase == "Deleted" && s.Generation == 2, TimeSpan.FromSeconds(20));
        await Deadline.WaitUntilAsync(async () => await Cp.LastDesiredAsync("kraud.desired.h1.probe.again") is null,
            TimeSpan.FromSeconds(10), "the finished delete to be purged");

        await Cp.PublishAsync("h1", "Probe", "again", 1);
        var s = await Cp.WaitForStatusAsync("h1", "probe", "again", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
        Assert.Equal(1, s.Generation);
    }

    [Fact]
    public async Task Apply_keeps_counting_generations_across_a_delete_and_publishes_the_contracts_kind()
    {
        string file = Dir.File("probe.json");
        File.WriteAllText(file, """{"kind":"probe","id":"by-hand","spec":{}}""");
        await ApplyAsync(file);
        await Cp.WaitForStatusAsync("h1", "probe", "by-hand", s => s.Phase == "Ready" && s.Generation == 1, TimeSpan.FromSeconds(20));
        File.WriteAllText(file, """{"kind":"Probe","id":"by-hand","deleted":true}""");
        await ApplyAsync(file);
        await Cp.WaitForStatusAsync("h1", "probe", "by-hand", s => s.Phase == "Deleted" && s.Generation == 2, TimeSpan.FromSeconds(20));
        await Deadline.WaitUntilAsync(async () => await Cp.LastDesiredAsync("kraud.desired.h1.probe.by-hand") is null,
            TimeSpan.FromSeconds(10), "the finished delete to be purged");

        File.WriteAllText(file, """{"kind":"Probe","id":"by-hand","spec":{}}""");
        await ApplyAsync(file);
        var s = await Cp.WaitForStatusAsync("h1", "probe", "by-hand", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
        Assert.Equal(3, s.Generation);
    }

    private async Task ApplyAsync(string file)
    {
        using var apply = AgentProcess.Start(["apply", "-f", file, "--host", "h1", "--server", Nats.Url]);
        int code = await apply.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"apply exited {code}: {string.Join('\n', apply.Stderr)}");
    }
}
