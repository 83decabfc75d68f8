namespace Kraud.Nats.Tests;

/// <summary>Tests that must not share the process with parallel tests (allocation counts).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
