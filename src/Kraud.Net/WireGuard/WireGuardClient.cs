using Kraud.Net.Netlink;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Net.WireGuard;

/// <summary>
/// Picks the WireGuard backend the way wgctrl-go does: the kernel's generic netlink family when it is
/// registered, otherwise userspace wireguard-go over its UAPI socket.
/// </summary>
public static class WireGuardClient
{
    /// <summary>Opens a backend for devices in <paramref name="ns"/>; <paramref name="prefer"/> forces one; wireguard-go's output goes to <paramref name="logger"/>.</summary>
    public static IWireGuardBackend Open(NetNs? ns = null, WgBackendKind? prefer = null, ILogger? logger = null)
    {
        if (prefer == WgBackendKind.Userspace) return new UserspaceWireGuard(ns, logger);
        try
        {
            return KernelWireGuard.Open(ns);
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENOENT && prefer is null)
        {
            return new UserspaceWireGuard(ns, logger);
        }
    }

    /// <summary>True when the kernel has the wireguard generic netlink family (autoloading the module if it can).</summary>
    public static bool KernelAvailable()
    {
        try
        {
            using var wg = KernelWireGuard.Open();
            return true;
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENOENT)
        {
            return false;
        }
    }
}
