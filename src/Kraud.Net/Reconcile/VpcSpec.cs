using System.Net;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Net.Reconcile;

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

    /// <summary>Throws <see cref="SpecValidationException"/> naming the first bad field.</summary>
    public void Validate()
    {
        SpecChecks.InterfaceName(Interface, "interface");
        if (ListenPort is < 0 or > 65535) throw new SpecValidationException("listenPort", $"{ListenPort} is not a UDP port (0..65535)");
        if (Mtu is < 1280 or > 65535) throw new SpecValidationException("mtu", $"{Mtu} is outside 1280..65535 (IPv6 needs at least 1280)");
        for (int i = 0; i < Addresses.Count; i++) SpecChecks.Prefix(Addresses[i], $"addresses[{i}]");
        var keys = new HashSet<WgKey>();
        for (int i = 0; i < Peers.Count; i++)
        {
            var p = Peers[i];
            string at = $"peers[{i}]";
            if (p is null) throw new SpecValidationException(at, "null");
            if (!WgKey.TryParse(p.PublicKey, out var key)) throw new SpecValidationException($"{at}.publicKey", $"'{p.PublicKey}' is not a base64 WireGuard key");
            if (!keys.Add(key)) throw new SpecValidationException($"{at}.publicKey", "the same peer appears twice");
            if (p.Endpoint is not null && (!IPEndPoint.TryParse(p.Endpoint, out var ep) || ep.Port == 0 || !p.Endpoint.Contains(':')))
                throw new SpecValidationException($"{at}.endpoint", $"'{p.Endpoint}' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)");
            for (int j = 0; j < p.AllowedIps.Count; j++) SpecChecks.Prefix(p.AllowedIps[j], $"{at}.allowedIps[{j}]");
            if (p.PersistentKeepalive is < 0 or > 65535) throw new SpecValidationException($"{at}.persistentKeepalive", $"{p.PersistentKeepalive} is outside 0..65535 seconds");
        }
        for (int i = 0; i < Routes.Count; i++) SpecChecks.Prefix(Routes[i]?.Destination, $"routes[{i}].destination");
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

internal static class SpecChecks
{
    public static void InterfaceName(string? name, string field)
    {
        if (string.IsNullOrEmpty(name)) throw new SpecValidationException(field, "missing");
        if (System.Text.Encoding.UTF8.GetByteCount(name) > 15) throw new SpecValidationException(field, $"'{name}' is longer than 15 bytes");
        if (name is "." or ".." || name.Any(c => c is '/' or ':' or '%' || char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new SpecValidationException(field, $"'{name}' is not a valid interface name");
    }

    public static IpPrefix Prefix(string? text, string field) =>
        IpPrefix.TryParse(text, out var prefix, out string? error) ? prefix : throw new SpecValidationException(field, error ?? "bad prefix");

    public static IPAddress Address(string? text, string field, bool ipv6)
    {
        if (string.IsNullOrEmpty(text)) throw new SpecValidationException(field, "missing");
        if (!IPAddress.TryParse(text, out var a) || text.Contains('/') || text.Contains('%'))
            throw new SpecValidationException(field, $"'{text}' is not an IP address");
        if ((a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) != ipv6)
            throw new SpecValidationException(field, $"'{text}' is not an {(ipv6 ? "IPv6" : "IPv4")} address");
        return a;
    }
}
