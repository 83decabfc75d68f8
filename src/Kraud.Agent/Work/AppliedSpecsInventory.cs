namespace Kraud.Agent.Work;

/// <summary>The resources this host applied and never deleted, from its state-dir records (<see cref="AppliedSpecs"/>).</summary>
public sealed class AppliedSpecsInventory(AppliedSpecs applied, string host) : IResourceInventory
{
    public string Name => "state-dir records";

    public Task<IReadOnlyList<ResourceKey>> ListAsync(CancellationToken ct)
    {
        var keys = new List<ResourceKey>();
        foreach (string entry in applied.List())
        {
            int slash = entry.IndexOf('/');
            keys.Add(new ResourceKey(host, entry[..slash], entry[(slash + 1)..]));
        }
        return Task.FromResult<IReadOnlyList<ResourceKey>>(keys);
    }
}
