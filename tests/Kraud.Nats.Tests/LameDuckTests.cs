using System.Text;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class LameDuckTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Lame_duck_server_is_left_for_a_cluster_peer_learned_from_info()
    {
        await using var cluster = await NatsCluster.StartAsync(template: new NatsServerOptions { JetStream = false, LameDuckDuration = TimeSpan.FromSeconds(30) });
        // Only the first server is configured; the others come from INFO connect_urls.
        await using var nats = new NatsConnection(new NatsOpts { Url = cluster.Servers[0].Url, ReconnectWaitMin = TimeSpan.FromMilliseconds(100) });
        var lameDuck = new TaskCompletionSource<NatsServerInfo>();
        nats.LameDuckModeActivated += (_, info) => lameDuck.TrySetResult(info);
        await using var sub = await nats.SubscribeCoreAsync("ldm.check");
        await nats.PingAsync();
        Assert.Equal("n1", nats.ServerInfo!.ServerName);
        await Deadline.WaitUntilAsync(() => nats.ServerInfo!.ClientConnectUrls is { Length: 3 }, Wait, "cluster peers announced");

        cluster.Servers[0].EnterLameDuckMode();
        var info = await lameDuck.Task.WaitAsync(Wait);
        Assert.True(info.LameDuckMode);
        await Deadline.WaitUntilAsync(() => nats.ConnectionState == NatsConnectionState.Open && nats.ServerInfo!.ServerName != "n1", Wait, "moved to another server");

        await using var other = new NatsConnection(new NatsOpts { Url = cluster.Servers[2].Url });
        await Deadline.WaitUntilAsync(async () =>
        {
            await other.PublishAsync("ldm.check", Encoding.UTF8.GetBytes("moved"));
            return sub.Msgs.TryRead(out var m) && Encoding.UTF8.GetString(m.Data.Span) == "moved";
        }, Wait, "subscription working on the new server", pollMs: 200);
    }
}
