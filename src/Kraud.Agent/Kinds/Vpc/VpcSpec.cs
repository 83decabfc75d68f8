using System.Net;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>Contract section 7, kind Vpc: the host's WireGuard interface of the IPv6 VPC.</summary>
public sealed record VpcSpec
{
    public string Interface { get; init; } = "";
    public int? ListenPort { get; init; }
    public int? Mtu { get; init; }
    public List<string> Addresses { get; init => field = value ?? []; } = [];
    public List<VpcPeerSpec> Peers { get; init => field = value ?? []; } = [];
    public List<VpcRouteSpec> Routes { get; init => field = value ?? []; } = [];

    public const int DefaultMtu = 1420;

    /// <summary>
    /// Throws <see cref="SpecValidationException"/> naming the first bad field; else the peers as WireGuard takes them,
    /// each key, endpoint and prefix parsed once (a Vpc of 10,000 peers is checked and prepared in one pass, and the
    /// field's path is formatted only for the error).
    /// </summary>
    public WgWantedPeer[] Validate()
    {
        NetSpecChecks.InterfaceName(Interface, "interface");
        if (ListenPort is < 0 or > 65535) throw PermanentReconcileException.At("spec." + "listenPort", $"{ListenPort} is not a UDP port (0..65535)");
        if (Mtu is < 1280 or > 65535) throw PermanentReconcileException.At("spec." + "mtu", $"{Mtu} is outside 1280..65535 (IPv6 needs at least 1280)");
        for (int i = 0; i < Addresses.Count; i++) NetSpecChecks.Prefix(Addresses[i], $"addresses[{i}]");
        var wanted = new WgWantedPeer[Peers.Count];
        var keys = new HashSet<WgKey>(Peers.Count);
        for (int i = 0; i < Peers.Count; i++)
        {
            var p = Peers[i] ?? throw PermanentReconcileException.At($"spec.peers[{i}]", "null");
            if (!WgKey.TryParse(p.PublicKey, out var key)) throw PermanentReconcileException.At($"spec.peers[{i}].publicKey", $"'{p.PublicKey}' is not a base64 WireGuard key");
            if (!keys.Add(key)) throw PermanentReconcileException.At($"spec.peers[{i}].publicKey", "the same peer appears twice");
            IPEndPoint? endpoint = null;
            if (p.Endpoint is not null && (!IPEndPoint.TryParse(p.Endpoint, out endpoint) || endpoint.Port == 0 || !p.Endpoint.Contains(':')))
                throw PermanentReconcileException.At($"spec.peers[{i}].endpoint", $"'{p.Endpoint}' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)");
            var allowed = new IpPrefix[p.AllowedIps.Count];
            for (int j = 0; j < allowed.Length; j++)
                allowed[j] = IpPrefix.TryParse(p.AllowedIps[j], out var prefix, out string? error) ? prefix
                    : throw PermanentReconcileException.At($"spec.peers[{i}].allowedIps[{j}]", error ?? "bad prefix");
            if (p.PersistentKeepalive is < 0 or > 65535) throw PermanentReconcileException.At($"spec.peers[{i}].persistentKeepalive", $"{p.PersistentKeepalive} is outside 0..65535 seconds");
            wanted[i] = new WgWantedPeer(key, endpoint, p.PersistentKeepalive ?? 0, allowed);
        }
        for (int i = 0; i < Routes.Count; i++) NetSpecChecks.Prefix(Routes[i]?.Destination, $"routes[{i}].destination");
        return wanted;
    }
}

public sealed record VpcPeerSpec
{
    public string PublicKey { get; init; } = "";
    public string? Endpoint { get; init; }
    public List<string> AllowedIps { get; init => field = value ?? []; } = [];
    public int? PersistentKeepalive { get; init; }
}

public sealed record VpcRouteSpec
{
    public string Destination { get; init; } = "";
}
