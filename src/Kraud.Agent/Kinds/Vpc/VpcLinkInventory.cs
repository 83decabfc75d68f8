using Kraud.Libc;
using Kraud.Net.Rtnl;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// The Vpcs whose interface is on the host: every link whose alias is the Vpc reconciler's owner mark
/// (<c>kraud:vpc:&lt;id&gt;</c>, <see cref="VpcReconciler.OwnerAlias"/>), in the agent's namespace or in <paramref name="ns"/>.
/// One netlink dump per listing.
/// </summary>
public sealed class VpcLinkInventory(string host, NetNs? ns = null) : IResourceInventory
{
    private static readonly string s_prefix = VpcReconciler.OwnerAlias("");

    public string Name => "VPC interfaces";

    public Task<IReadOnlyList<ResourceKey>> ListAsync(CancellationToken ct) => Task.Run<IReadOnlyList<ResourceKey>>(() =>
    {
        using var rt = RtNetlink.Open(ns);
        return rt.LinkList()
            .Where(l => l.Alias is { } a && a.StartsWith(s_prefix, StringComparison.Ordinal) && a.Length > s_prefix.Length)
            .Select(l => new ResourceKey(host, ResourceKinds.SubjectToken(ResourceKinds.Vpc), l.Alias![s_prefix.Length..]))
            .Distinct()
            .ToList();
    }, ct);
}
