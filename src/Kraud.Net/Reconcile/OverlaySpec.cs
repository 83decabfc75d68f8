namespace Kraud.Net.Reconcile;

/// <summary>Contract section 7, kind Overlay: a namespace's IPv4 network carried in IPv6 (ip6ip) over the VPC.</summary>
public sealed record OverlaySpec
{
    public string Namespace { get; init; } = "";
    public string Name { get; init; } = "";
    public string Net4 { get; init; } = "";
    public string Underlay { get; init; } = "";
    public OverlayEndpoint? Local { get; init; }
    public List<OverlayEndpoint> Members { get; init => field = value ?? []; } = [];

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Namespace)) throw new SpecValidationException("namespace", "missing");
        if (string.IsNullOrWhiteSpace(Name)) throw new SpecValidationException("name", "missing");
        var net4 = SpecChecks.Prefix(Net4, "net4");
        if (net4.IsIPv6) throw new SpecValidationException("net4", $"'{Net4}' is not an IPv4 prefix");
        SpecChecks.InterfaceName(Underlay, "underlay");
        if (Local is null) throw new SpecValidationException("local", "missing");
        SpecChecks.Address(Local.Ip6, "local.ip6", ipv6: true);
        var local4 = SpecChecks.Address(Local.Ip4, "local.ip4", ipv6: false);
        if (!net4.Contains(local4)) throw new SpecValidationException("local.ip4", $"{Local.Ip4} is not inside net4 {Net4}");
        var seen4 = new HashSet<string> { local4.ToString() };
        for (int i = 0; i < Members.Count; i++)
        {
            var m = Members[i] ?? throw new SpecValidationException($"members[{i}]", "null");
            SpecChecks.Address(m.Ip6, $"members[{i}].ip6", ipv6: true);
            var ip4 = SpecChecks.Address(m.Ip4, $"members[{i}].ip4", ipv6: false);
            if (!net4.Contains(ip4)) throw new SpecValidationException($"members[{i}].ip4", $"{m.Ip4} is not inside net4 {Net4}");
            if (!seen4.Add(ip4.ToString())) throw new SpecValidationException($"members[{i}].ip4", $"{m.Ip4} is used twice");
        }
    }
}

public sealed record OverlayEndpoint
{
    public string Ip6 { get; init; } = "";
    public string Ip4 { get; init; } = "";
}
