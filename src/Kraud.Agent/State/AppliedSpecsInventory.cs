using Kraud.Agent.Kinds;

namespace Kraud.Agent.State;

/// <summary>The resources this host applied and never deleted, from its state-dir records (<see cref="AppliedSpecs"/>).</summary>
public sealed class AppliedSpecsInventory(AppliedSpecs applied, string host) : IResourceInventory
{
    public string Name => "state-dir records";

    public Task<IReadOnlyList<ResourceKey>> ListAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<ResourceKey>>(applied.List(host).ToList());
}
