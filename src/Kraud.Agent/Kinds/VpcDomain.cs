using System.Security.Cryptography;
using System.Text;
using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;

namespace Kraud.Agent.Kinds;

/// <summary>
/// A Vpc's routing domain on this host: a VRF device of its own, so each tenant's routes live in a table of their own
/// and two tenants may use the same prefixes. The Vpc kind makes it; the Overlay and Pod kinds, whose specs name the
/// Vpc, put their links and routes into it. Shared here (the kinds' common root) because all three derive the same
/// name and read the same mark.
/// - Name: "kr" + 10 hex of sha256("vrf:" + id): stable across restarts, 12 bytes, unlike other kinds' names.
/// - Mark: the alias <c>kraud:vpc:&lt;id&gt;</c>, as on the Vpc's WireGuard interface: a delete without spec finds both.
/// - Table: in <see cref="FirstTable"/> .. +<see cref="TableCount"/> (ids above 255, far from the tables operators and
///   distributions number by hand), preferring one derived from the id and stepping on past a table another VRF or
///   anything else already uses. The VRF device records its table (IFLA_VRF_TABLE): it is read back, never recomputed.
/// </summary>
public static class VpcDomain
{
    public const uint FirstTable = 0x4B560000, TableCount = 0x10000;

    public static string OwnerAlias(string vpcId) => "kraud:vpc:" + vpcId;

    public static string VrfName(string vpcId) => "kr" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("vrf:" + vpcId)))[..10];

    public static uint PreferredTable(string vpcId) =>
        FirstTable + (BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes("table:" + vpcId))) % TableCount);

    /// <summary>The Vpc's VRF: the link of its name that is a VRF and carries its mark; null when there is none.</summary>
    public static Link? Find(RtNetlink rt, string vpcId) =>
        rt.LinkFind(VrfName(vpcId)) is { Kind: "vrf" } link && link.Alias == OwnerAlias(vpcId) ? link : null;

    /// <summary>
    /// The VRF of Vpc <paramref name="vpcId"/> for a kind whose spec names it in <paramref name="field"/>. Absent, it is
    /// transient: the Vpc may not have been reconciled on this host yet.
    /// </summary>
    public static Link Require(RtNetlink rt, string vpcId, string field) =>
        Find(rt, vpcId) ?? throw new TransientReconcileException($"{field}: Vpc {vpcId} has no VRF ({VrfName(vpcId)}) on this host yet");

    /// <summary>
    /// Puts <paramref name="link"/> into the VRF (a no-op when it is there already). Enslaving cycles the link, so callers
    /// do it before they add addresses and routes.
    /// </summary>
    public static void Enslave(RtNetlink rt, Link link, Link vrf)
    {
        if (link.MasterIndex != vrf.Index) rt.LinkSetMaster(link.Index, vrf.Index);
    }

    /// <summary>
    /// What a link that carries a tenant's IPv4 needs: forwarding on (IPv4 forwarding is per input device, so only
    /// tenants' links forward, and only within their VRF's table) and strict reverse-path filtering (a packet whose source
    /// the VRF's table would not route back out of the same link is dropped: no spoofing across tenants).
    /// </summary>
    public static List<NetSysctl.Setting> TenantIpv4(string device) =>
        [NetSysctl.Ipv4(device, "forwarding", 1), NetSysctl.Ipv4(device, "rp_filter", 1)];

    /// <summary>
    /// IPv6 forwarding: the kernel forwards IPv6 only when net.ipv6.conf.all.forwarding is 1 (there is no per-device
    /// switch before Linux 6.17's force_forwarding); the per-device value makes the link act as a router (no RA/autoconf).
    /// The table lookup of a forwarded packet is the VRF's, so this opens no path between tenants.
    /// </summary>
    public static List<NetSysctl.Setting> TenantIpv6(string device) =>
        [NetSysctl.Ipv6("all", "forwarding", 1), NetSysctl.Ipv6(device, "forwarding", 1)];
}
