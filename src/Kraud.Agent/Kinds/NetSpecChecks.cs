using System.Net;
using Kraud.Net.Rtnl;

namespace Kraud.Agent.Kinds;

/// <summary>Checks of network fields the Vpc and Overlay specs share; each failure is permanent and names the field.</summary>
public static class NetSpecChecks
{
    public static void InterfaceName(string? name, string field)
    {
        if (string.IsNullOrEmpty(name)) throw PermanentReconcileException.At("spec." + field, "missing");
        if (System.Text.Encoding.UTF8.GetByteCount(name) > 15) throw PermanentReconcileException.At("spec." + field, $"'{name}' is longer than 15 bytes");
        if (name is "." or ".." || name.Any(c => c is '/' or ':' or '%' || char.IsWhiteSpace(c) || char.IsControl(c)))
            throw PermanentReconcileException.At("spec." + field, $"'{name}' is not a valid interface name");
    }

    public static IpPrefix Prefix(string? text, string field) =>
        IpPrefix.TryParse(text, out var prefix, out string? error) ? prefix : throw PermanentReconcileException.At("spec." + field, error ?? "bad prefix");

    public static IPAddress Address(string? text, string field, bool ipv6)
    {
        if (string.IsNullOrEmpty(text)) throw PermanentReconcileException.At("spec." + field, "missing");
        if (!IPAddress.TryParse(text, out var a) || text.Contains('/') || text.Contains('%'))
            throw PermanentReconcileException.At("spec." + field, $"'{text}' is not an IP address");
        if ((a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) != ipv6)
            throw PermanentReconcileException.At("spec." + field, $"'{text}' is not an {(ipv6 ? "IPv6" : "IPv4")} address");
        return a;
    }
}
