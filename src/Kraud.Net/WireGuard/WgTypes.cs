using System.Net;
using Kraud.Net.Rtnl;

namespace Kraud.Net.WireGuard;

/// <summary>A WireGuard device as read back (wgctrl-go's wgtypes.Device).</summary>
public sealed record WgDevice(string Name, WgKey? PrivateKey, WgKey? PublicKey, int ListenPort, uint FirewallMark, IReadOnlyList<WgPeer> Peers);

/// <summary>A peer as read back.</summary>
public sealed record WgPeer(WgKey PublicKey)
{
    public WgKey? PresharedKey { get; init; }
    public IPEndPoint? Endpoint { get; init; }
    public int PersistentKeepaliveSeconds { get; init; }

    /// <summary>Null when no handshake happened yet.</summary>
    public DateTimeOffset? LastHandshake { get; init; }
    public long ReceiveBytes { get; init; }
    public long TransmitBytes { get; init; }
    public List<IpPrefix> AllowedIps { get; init; } = [];
    public int ProtocolVersion { get; init; }
}

/// <summary>A change to a device; null fields are left as they are (wgctrl-go's wgtypes.Config).</summary>
public sealed record WgConfig
{
    public WgKey? PrivateKey { get; init; }
    public int? ListenPort { get; init; }
    public uint? FirewallMark { get; init; }

    /// <summary>Drop every peer not listed (resets their sessions: prefer per-peer diffs).</summary>
    public bool ReplacePeers { get; init; }
    public IReadOnlyList<WgPeerConfig> Peers { get; init; } = [];
}

/// <summary>A change to one peer; null fields are left as they are.</summary>
public sealed record WgPeerConfig(WgKey PublicKey)
{
    public bool Remove { get; init; }

    /// <summary>Only change an existing peer; never create one.</summary>
    public bool UpdateOnly { get; init; }
    public WgKey? PresharedKey { get; init; }
    public IPEndPoint? Endpoint { get; init; }
    public int? PersistentKeepaliveSeconds { get; init; }

    /// <summary>Replace the peer's allowed IPs with <see cref="AllowedIps"/> instead of adding to them.</summary>
    public bool ReplaceAllowedIps { get; init; }
    public IReadOnlyList<IpPrefix> AllowedIps { get; init; } = [];
}

/// <summary>Which implementation a device runs on.</summary>
public enum WgBackendKind
{
    Kernel,
    Userspace,
}

/// <summary>One way of talking to WireGuard devices: kernel generic netlink, or wireguard-go's UAPI socket.</summary>
public interface IWireGuardBackend : IDisposable
{
    WgBackendKind Kind { get; }

    /// <summary>Creates the interface (kernel: an rtnetlink link; userspace: a wireguard-go process).</summary>
    void CreateInterface(string name);

    WgDevice GetDevice(string name);

    /// <summary>Whether device <paramref name="name"/> has key <paramref name="privateKey"/> and is as <paramref name="wanted"/> says.</summary>
    WgDeviceSummary Compare(string name, WgKey privateKey, WgDeviceTemplate wanted);

    void ConfigureDevice(string name, WgConfig config);
}
