namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>A real nats-server and one agent for host h1, serving before each test starts.</summary>
public abstract class ServingAgentTestBase : NatsTestBase
{
    protected AgentUnderTest Agent { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Agent = new AgentUnderTest(Dir, "a", "h1", Nats.Url);
        await Agent.WaitServingAsync();
    }

    public override async Task DisposeAsync()
    {
        Agent.Dispose();
        await base.DisposeAsync();
    }
}
