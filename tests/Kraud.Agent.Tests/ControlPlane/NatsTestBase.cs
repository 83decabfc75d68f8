namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>A real nats-server, the test's control plane and a temp dir per test, shared by the engine tests.</summary>
public abstract class NatsTestBase : IAsyncLifetime
{
    protected TempDir Dir { get; } = new();
    protected NatsServer Nats { get; private set; } = null!;
    protected TestControlPlane Cp { get; private set; } = null!;

    /// <summary>How the test's server is configured (defaults unless a test class needs more).</summary>
    protected virtual NatsServerOptions ServerOptions => new();

    public virtual async Task InitializeAsync()
    {
        Nats = await NatsServer.StartAsync(ServerOptions);
        Cp = await TestControlPlane.ConnectAsync(Nats.Url);
    }

    public virtual async Task DisposeAsync()
    {
        await Cp.DisposeAsync();
        await Nats.DisposeAsync();
        Dir.Dispose();
    }
}
