using System.Net;
using Kraud.Libc;

namespace Kraud.Net.Rtnl;

/// <summary>A link as the kernel reports it.</summary>
public sealed record Link(int Index, string Name, string? Kind, int Mtu, uint Flags, int MasterIndex, uint Group, byte[]? HardwareAddress)
{
    public bool IsUp => (Flags & LinkFlags.Up) != 0;

    /// <summary>The link's alias (IFLA_IFALIAS, `ip link set NAME alias TEXT`), null when unset.</summary>
    public string? Alias { get; init; }

    /// <summary>A VRF device's routing table (IFLA_VRF_TABLE); null for every other kind.</summary>
    public uint? VrfTable { get; init; }

    /// <summary>
    /// net.ipv6.conf.&lt;link&gt;.forwarding as the link message carries it (IFLA_AF_SPEC, AF_INET6, IFLA_INET6_CONF): no
    /// RTM_GETNETCONF round trip for it; null when the link has no IPv6 (disable_ipv6, or an IPv6-less kernel).
    /// </summary>
    public int? Ipv6Forwarding { get; init; }
}

/// <summary>What to create. Subtypes carry the kind-specific data.</summary>
public abstract record LinkSpec(string Name)
{
    public int? Mtu { get; init; }
    public uint? Group { get; init; }

    /// <summary>Create the link directly inside this namespace (IFLA_NET_NS_FD).</summary>
    public NetNs? Namespace { get; init; }

    public abstract string Kind { get; }
}

/// <summary>A veth pair; the peer may be born in another namespace.</summary>
public sealed record VethSpec(string Name, string PeerName) : LinkSpec(Name)
{
    public NetNs? PeerNamespace { get; init; }
    public override string Kind => "veth";
}

public sealed record BridgeSpec(string Name) : LinkSpec(Name)
{
    public override string Kind => "bridge";
}

public sealed record WireGuardSpec(string Name) : LinkSpec(Name)
{
    public override string Kind => "wireguard";
}

/// <summary>
/// A VRF (l3mdev) device: its enslaved links route in <paramref name="Table"/>. The kernel adds the l3mdev policy
/// rules (`1000: from all lookup [l3mdev-table]`, IPv4 and IPv6) with the first VRF of a namespace; nothing else is needed.
/// </summary>
public sealed record VrfSpec(string Name, uint Table) : LinkSpec(Name)
{
    public override string Kind => "vrf";
}

/// <summary>
/// An ip6tnl device; <see cref="Protocol"/> 4 (IPPROTO_IPIP) is "mode ipip6": IPv4 carried in IPv6.
/// <see cref="Remote"/> = :: accepts from any remote (routes then pick nothing: use one per member, or lwt encap).
/// </summary>
public sealed record Ip6TnlSpec(string Name, IPAddress Local, IPAddress Remote) : LinkSpec(Name)
{
    public byte Protocol { get; init; } = 4;
    public byte HopLimit { get; init; } = 64;
    public byte EncapLimit { get; init; } = 4;
    public uint TunnelFlags { get; init; }
    public int UnderlayIndex { get; init; }
    public override string Kind => "ip6tnl";

    /// <summary>IP6_TNL_F_IGN_ENCAP_LIMIT: no destination-options header, 8 more bytes of MTU.</summary>
    public const uint IgnoreEncapLimit = 0x1;
}

/// <summary>An address on a link.</summary>
public sealed record Address(int LinkIndex, IpPrefix Prefix, uint Flags, byte Scope);

/// <summary>A route. Without a gateway it is on-link through <see cref="OutputIndex"/>.</summary>
public sealed record Route(IpPrefix Destination)
{
    public int? OutputIndex { get; init; }
    public IPAddress? Gateway { get; init; }
    public uint Table { get; init; } = RouteTables.Main;
    public byte Protocol { get; init; } = RouteProtocols.Static;
    public uint? Priority { get; init; }
    public IPAddress? PreferredSource { get; init; }
    public byte Type { get; init; } = Rt.RTN_UNICAST;
    public byte Scope { get; init; }
}
