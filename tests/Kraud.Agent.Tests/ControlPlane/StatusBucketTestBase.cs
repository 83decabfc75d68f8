using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>A real nats-server and its KRAUD_STATUS bucket per test, for tests of what the agent writes there.</summary>
public abstract class StatusBucketTestBase : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private NatsConnection _connection = null!;

    protected INatsKVStore Bucket { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url, RetryOnInitialConnect = false });
        await _connection.ConnectAsync();
        Bucket = await new NatsKVContext(new NatsJSContext(_connection)).CreateStoreAsync(new NatsKVConfig("KRAUD_STATUS"));
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _nats.DisposeAsync();
    }
}
