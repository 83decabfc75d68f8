
namespace Kraud.Agent.Kinds.Overlay;

/// <summary>Contract section 7, kind Overlay: a namespace's IPv4 network carried in IPv6 (ip6ip) over the VPC.</summary>
public sealed record OverlaySpec
{
    public string Namespace { get; init; } = "";
    public string Name { get; init; } = "";
    /// <summary>The Vpc resource whose routing domain (VRF) carries this overlay: its tunnels and routes live there.</summary>
    public string Vpc { get; init; } = "";
    public string Net4 { get; init; } = "";
    public string Underlay { get; init; } = "";
    public OverlayEndpoint? Local { get; init; }
    public List<OverlayEndpoint> Members { get; init => field = value ?? []; } = [];

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Namespace)) throw PermanentReconcileException.At("spec." + "namespace", "missing");
        if (string.IsNullOrWhiteSpace(Name)) throw PermanentReconcileException.At("spec." + "name", "missing");
        if (string.IsNullOrWhiteSpace(Vpc)) throw PermanentReconcileException.At("spec." + "vpc", "missing (the id of the Vpc whose network carries the overlay)");
        var net4 = NetSpecChecks.Prefix(Net4, "net4");
        if (net4.IsIPv6) throw PermanentReconcileException.At("spec." + "net4", $"'{Net4}' is not an IPv4 prefix");
        NetSpecChecks.InterfaceName(Underlay, "underlay");
        if (Local is null) throw PermanentReconcileException.At("spec." + "local", "missing");
        NetSpecChecks.Address(Local.Ip6, "local.ip6", ipv6: true);
        var local4 = NetSpecChecks.Address(Local.Ip4, "local.ip4", ipv6: false);
        if (!net4.Contains(local4)) throw PermanentReconcileException.At("spec." + "local.ip4", $"{Local.Ip4} is not inside net4 {Net4}");
        var seen4 = new HashSet<string> { local4.ToString() };
        for (int i = 0; i < Members.Count; i++)
        {
            var m = Members[i] ?? throw PermanentReconcileException.At("spec." + $"members[{i}]", "null");
            NetSpecChecks.Address(m.Ip6, $"members[{i}].ip6", ipv6: true);
            var ip4 = NetSpecChecks.Address(m.Ip4, $"members[{i}].ip4", ipv6: false);
            if (!net4.Contains(ip4)) throw PermanentReconcileException.At("spec." + $"members[{i}].ip4", $"{m.Ip4} is not inside net4 {Net4}");
            if (!seen4.Add(ip4.ToString())) throw PermanentReconcileException.At("spec." + $"members[{i}].ip4", $"{m.Ip4} is used twice");
        }
    }
}

public sealed record OverlayEndpoint
{
    public string Ip6 { get; init; } = "";
    public string Ip4 { get; init; } = "";
}
