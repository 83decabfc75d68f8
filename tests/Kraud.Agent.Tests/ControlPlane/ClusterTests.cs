namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>Against a 3-node JetStream cluster (R3 streams) the agent keeps completing work while a server dies and returns.</summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private NatsCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await NatsCluster.StartAsync(3);

    [Fact]
    public async Task Keeps_completing_work_while_one_server_is_killed_and_restarted()
    {
        using var agent = new AgentUnderTest(_dir, "a", "h1", _cluster.Urls, replicas: 3);
        await agent.WaitServingAsync();
        await using var cp = await TestControlPlane.ConnectAsync(_cluster.Urls);

        async Task RoundAsync(string prefix, int count)
        {
            for (int i = 0; i < count; i++) await PublishWithRetryAsync(cp, prefix + i);
            foreach (int i in Enumerable.Range(0, count))
            {
                try
                {
                    await cp.WaitForStatusAsync("h1", "probe", prefix + i, s => s.Phase == "Ready", TimeSpan.FromSeconds(60));
                }
                catch (TimeoutException e)
                {
                    throw new TimeoutException(e.Message + "\nagent log:\n" + string.Join('\n', agent.Process.Stderr.TakeLast(40)));
                }
            }
        }

        await RoundAsync("before-", 20);
        await _cluster.KillAsync(0);
        await RoundAsync("during-", 20);
        await _cluster.RestartAsync(0);
        await RoundAsync("after-", 20);
        Assert.False(agent.Process.HasExited);
        var host = await cp.GetHostAsync("h1");
        Assert.NotNull(host);
    }

    private static async Task PublishWithRetryAsync(TestControlPlane cp, string id)
    {
        // The control plane's own publish may hit the moment of a leader change; it retries as any client would.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await cp.PublishAsync("h1", "Probe", id, 1);
                return;
            }
            catch (NATS.Client.Core.NatsException) when (attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _dir.Dispose();
    }
}
