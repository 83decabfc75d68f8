namespace Kraud.Testing;

/// <summary>Three JetStream nats-servers on loopback forming one cluster (server_name n1..n3, full mesh routes).</summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private NatsCluster(IReadOnlyList<NatsServer> servers) => Servers = servers;

    public IReadOnlyList<NatsServer> Servers { get; }

    /// <summary>All client URLs, comma-separated (what NatsOpts.Url takes).</summary>
    public string Urls => string.Join(",", Servers.Select(s => s.Url));

    /// <summary>Starts the members (each from <paramref name="template"/> if given) and waits until all are healthy.</summary>
    public static async Task<NatsCluster> StartAsync(int size = 3, string name = "kraud", NatsServerOptions? template = null)
    {
        template ??= new NatsServerOptions();
        var clusterPorts = Enumerable.Range(0, size).Select(_ => FreePort.Next()).ToArray();
        var servers = new List<NatsServer>();
        try
        {
            for (var i = 0; i < size; i++)
            {
                var routes = clusterPorts.Where((_, j) => j != i).Select(p => $"nats://127.0.0.1:{p}").ToArray();
                servers.Add(await NatsServer.StartAsync(template with
                {
                    ServerName = $"n{i + 1}",
                    ClusterName = name,
                    ClusterPort = clusterPorts[i],
                    Routes = routes,
                }, waitReady: false));
            }
            var cluster = new NatsCluster(servers);
            await cluster.WaitReadyAsync(TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            foreach (var s in servers) s.Dispose();
            throw;
        }
    }

    /// <summary>Waits until every running member reports healthy (routes up, JetStream meta leader known).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        foreach (var s in Servers.Where(s => s.IsRunning)) await s.WaitReadyAsync(timeout);
    }

    /// <summary>SIGKILLs member <paramref name="index"/>.</summary>
    public Task KillAsync(int index) => Servers[index].KillAsync();

    /// <summary>Starts member <paramref name="index"/> again with its store and waits until the cluster is healthy.</summary>
    public async Task RestartAsync(int index)
    {
        await Servers[index].StartAgainAsync(waitReady: false);
        await WaitReadyAsync(TimeSpan.FromSeconds(60));
    }

    public ValueTask DisposeAsync()
    {
        foreach (var s in Servers) s.Dispose();
        return default;
    }
}
