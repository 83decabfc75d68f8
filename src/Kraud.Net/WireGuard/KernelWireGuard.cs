using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Kraud.Net.Netlink;
using Kraud.Net.Rtnl;
using Kraud.Libc;

namespace Kraud.Net.WireGuard;

/// <summary>The kernel's WireGuard over generic netlink ("wireguard" family, uapi linux/wireguard.h).</summary>
public sealed class KernelWireGuard : IWireGuardBackend
{
    private const byte CmdGetDevice = 0, CmdSetDevice = 1, Version = 1;
    private const ushort DevIfName = 2, DevPrivateKey = 3, DevPublicKey = 4, DevFlags = 5, DevListenPort = 6, DevFwmark = 7, DevPeers = 8;
    private const ushort PeerPublicKey = 1, PeerPresharedKey = 2, PeerFlags = 3, PeerEndpoint = 4, PeerKeepalive = 5,
        PeerLastHandshake = 6, PeerRxBytes = 7, PeerTxBytes = 8, PeerAllowedIps = 9, PeerProtocolVersion = 10;
    private const ushort IpFamily = 1, IpAddr = 2, IpCidr = 3;
    private const uint DeviceReplacePeers = 1, PeerRemoveMe = 1, PeerReplaceAllowedIps = 2, PeerUpdateOnly = 4;

    /// <summary>Bytes per SET message. Far below the socket's send limit; nests stay under 64 KiB.</summary>
    internal const int MessageLimit = 32 * 1024;
    private const int PeerHeaderRoom = 4 + 36 + 8 + 36 + 32 + 8 + 8, AllowedIpRoom = 4 + 8 + 20 + 8;

    private readonly NetlinkSocket _socket;
    private readonly ushort _family;
    private readonly NetNs? _ns;

    private KernelWireGuard(NetlinkSocket socket, ushort family, NetNs? ns)
    {
        _socket = socket;
        _family = family;
        _ns = ns;
    }

    public WgBackendKind Kind => WgBackendKind.Kernel;

    /// <summary>Opens the kernel backend; throws <see cref="NetlinkException"/> ENOENT when the module is absent.</summary>
    public static KernelWireGuard Open(NetNs? ns = null)
    {
        var socket = NetlinkSocket.Open(Nl.NETLINK_GENERIC, ns);
        try
        {
            return new KernelWireGuard(socket, GenericNetlink.ResolveFamily(socket, "wireguard"), ns);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void CreateInterface(string name)
    {
        using var rt = RtNetlink.Open(_ns);
        rt.LinkAdd(new WireGuardSpec(name));
    }

    public WgDevice GetDevice(string name)
    {
        using var b = GenericNetlink.Request(_family, Nl.F_DUMP, CmdGetDevice, Version);
        b.AddString(DevIfName, name);
        // A device changed mid-dump comes back flagged; Dump retries. Peers split across messages are merged.
        var messages = _socket.Dump(b, $"get wireguard device \"{name}\"");
        WgKey? priv = null, pub = null;
        int port = 0;
        uint fwmark = 0;
        var peers = new List<WgPeer>();
        var byKey = new Dictionary<WgKey, int>();
        foreach (var m in messages)
        {
            var attrs = m.Attributes(GenericNetlink.HeaderLength);
            while (attrs.Next(out ushort type, out var value))
            {
                switch (type)
                {
                    case DevPrivateKey: priv = new WgKey(value); break;
                    case DevPublicKey: pub = new WgKey(value); break;
                    case DevListenPort: port = Nla.U16(value); break;
                    case DevFwmark: fwmark = Nla.U32(value); break;
                    case DevPeers:
                        var list = new NetlinkAttributeReader(value);
                        while (list.Next(out _, out var peerAttrs))
                        {
                            var peer = ParsePeer(peerAttrs);
                            if (byKey.TryGetValue(peer.PublicKey, out int at)) peers[at].AllowedIps.AddRange(peer.AllowedIps);
                            else
                            {
                                byKey[peer.PublicKey] = peers.Count;
                                peers.Add(peer);
                            }
                        }
                        break;
                }
            }
        }
        return new WgDevice(name, priv, pub, port, fwmark, peers);
    }

    /// <summary>
    /// Compares the device with <paramref name="wanted"/> as its dump arrives, straight from the receive buffer: no peer,
    /// address or list is built, so an unchanged device with thousands of peers costs little more than the kernel's dump.
    /// </summary>
    public WgDeviceSummary Compare(string name, WgKey privateKey, WgDeviceTemplate wanted)
    {
        using var b = GenericNetlink.Request(_family, Nl.F_DUMP, CmdGetDevice, Version);
        b.AddString(DevIfName, name);
        WgDeviceTemplate.Match match = null!;
        _socket.DumpEach(b, $"get wireguard device \"{name}\"", () => match = new WgDeviceTemplate.Match(wanted, privateKey), (_, payload) =>
        {
            if (match.Differs || payload.Length < GenericNetlink.HeaderLength) return;
            var attrs = new NetlinkAttributeReader(payload[Nl.Align(GenericNetlink.HeaderLength)..]);
            WgKey? priv = null, pub = null;
            int port = -1;
            while (attrs.Next(out ushort type, out var value))
            {
                switch (type)
                {
                    case DevPrivateKey: priv = new WgKey(value); break;
                    case DevPublicKey: pub = new WgKey(value); break;
                    case DevListenPort: port = Nla.U16(value); break;
                    case DevPeers:
                        var list = new NetlinkAttributeReader(value);
                        while (list.Next(out _, out var peer)) ComparePeer(match, peer);
                        break;
                }
            }
            // The device's own attributes come in the first message only (it always carries the listen port).
            if (port >= 0) match.Device(priv, pub, port);
        });
        return match.Result();
    }

    private static void ComparePeer(WgDeviceTemplate.Match match, ReadOnlySpan<byte> attributes)
    {
        var reader = new NetlinkAttributeReader(attributes);
        ReadOnlySpan<byte> key = default, endpoint = default, allowed = default;
        bool first = false, psk = false;
        ushort keepalive = 0;
        while (reader.Next(out ushort type, out var v))
        {
            switch (type)
            {
                case PeerPublicKey: key = v; break;
                case PeerPresharedKey:
                    first = true; // a peer's own fields come in its first part only; later parts repeat the key alone
                    psk = !IsZero(v);
                    break;
                case PeerKeepalive:
                    first = true;
                    keepalive = Nla.U16(v);
                    break;
                case PeerEndpoint: endpoint = v; break;
                case PeerAllowedIps: allowed = v; break;
            }
        }
        if (key.Length != WgKey.Length)
        {
            match.Peer(default); // no key: nothing wanted looks like that
            return;
        }
        int i = match.Peer(new WgKey(key));
        if (i < 0) return;
        if (first)
        {
            Span<byte> ep = stackalloc byte[WgDeviceTemplate.EndpointLength];
            int n = endpoint.IsEmpty ? 0 : WgDeviceTemplate.WriteEndpoint(endpoint, ep);
            match.PeerFields(i, psk, keepalive, ep[..n]);
        }
        var list = new NetlinkAttributeReader(allowed);
        while (list.Next(out _, out var entry))
        {
            var e = new NetlinkAttributeReader(entry);
            ReadOnlySpan<byte> addr = default;
            int cidr = 0;
            ushort family = 0;
            while (e.Next(out ushort et, out var ev))
            {
                if (et == IpAddr) addr = ev;
                else if (et == IpCidr) cidr = ev[0];
                else if (et == IpFamily) family = Nla.U16(ev);
            }
            if (addr.Length is 4 or 16) match.Allowed(i, AllowedIp.Of((byte)family, addr, cidr));
        }
    }

    /// <summary>All zero bytes (a preshared key that is unset): four word reads for a key, no vector loop.</summary>
    private static bool IsZero(ReadOnlySpan<byte> v)
    {
        if (v.Length != WgKey.Length) return v.IndexOfAnyExcept((byte)0) < 0;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(v);
        return (words[0] | words[1] | words[2] | words[3]) == 0;
    }

    private static WgPeer ParsePeer(ReadOnlySpan<byte> attributes)
    {
        var reader = new NetlinkAttributeReader(attributes);
        WgKey key = default;
        WgKey? psk = null;
        IPEndPoint? endpoint = null;
        int keepalive = 0, version = 0;
        long rx = 0, tx = 0;
        DateTimeOffset? handshake = null;
        var ips = new List<IpPrefix>();
        while (reader.Next(out ushort type, out var v))
        {
            switch (type)
            {
                case PeerPublicKey: key = new WgKey(v); break;
                case PeerPresharedKey:
                    var k = new WgKey(v);
                    if (!k.IsZero) psk = k;
                    break;
                case PeerEndpoint: endpoint = ReadSockaddr(v); break;
                case PeerKeepalive: keepalive = Nla.U16(v); break;
                case PeerLastHandshake:
                    long sec = BinaryPrimitives.ReadInt64LittleEndian(v), nsec = BinaryPrimitives.ReadInt64LittleEndian(v[8..]);
                    if (sec != 0 || nsec != 0) handshake = DateTimeOffset.FromUnixTimeSeconds(sec).AddTicks(nsec / 100);
                    break;
                case PeerRxBytes: rx = (long)Nla.U64(v); break;
                case PeerTxBytes: tx = (long)Nla.U64(v); break;
                case PeerProtocolVersion: version = (int)Nla.U32(v); break;
                case PeerAllowedIps:
                    var list = new NetlinkAttributeReader(v);
                    while (list.Next(out _, out var entry))
                    {
                        var e = new NetlinkAttributeReader(entry);
                        IPAddress? addr = null;
                        int cidr = 0;
                        while (e.Next(out ushort et, out var ev))
                        {
                            if (et == IpAddr) addr = new IPAddress(ev);
                            else if (et == IpCidr) cidr = ev[0];
                        }
                        if (addr is not null) ips.Add(new IpPrefix(addr, cidr));
                    }
                    break;
            }
        }
        return new WgPeer(key)
        {
            PresharedKey = psk, Endpoint = endpoint, PersistentKeepaliveSeconds = keepalive, LastHandshake = handshake,
            ReceiveBytes = rx, TransmitBytes = tx, AllowedIps = ips, ProtocolVersion = version,
        };
    }

    private static IPEndPoint? ReadSockaddr(ReadOnlySpan<byte> v)
    {
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(v);
        int port = BinaryPrimitives.ReadUInt16BigEndian(v[2..]);
        if (family == 2 && v.Length >= 8) return new IPEndPoint(new IPAddress(v.Slice(4, 4)), port);
        if (family == 10 && v.Length >= 28) return new IPEndPoint(new IPAddress(v.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(v[24..])), port);
        return null;
    }

    private static void WriteSockaddr(NetlinkMessageBuilder b, ushort type, IPEndPoint ep)
    {
        bool v6 = ep.AddressFamily == AddressFamily.InterNetworkV6;
        var s = b.AddAttribute(type, v6 ? 28 : 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(v6 ? 10 : 2));
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], (ushort)ep.Port);
        if (v6)
        {
            ep.Address.TryWriteBytes(s.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)ep.Address.ScopeId);
        }
        else ep.Address.TryWriteBytes(s.Slice(4, 4), out _);
    }

    /// <summary>
    /// Applies <paramref name="config"/>, split into as many SET messages as it takes: device fields and
    /// REPLACE_PEERS only in the first, a peer continued in the next message repeats only its key and the
    /// remaining allowed IPs. Each message is acknowledged before the next is sent.
    /// </summary>
    public void ConfigureDevice(string name, WgConfig config)
    {
        using var b = GenericNetlink.Request(_family, 0, CmdSetDevice, Version, MessageLimit + 1024);
        var peers = config.Peers;
        int pi = 0, ai = 0, part = 0;
        do
        {
            b.Reset(_family, 0);
            var h = b.Reserve(GenericNetlink.HeaderLength);
            h[0] = CmdSetDevice;
            h[1] = Version;
            b.AddString(DevIfName, name);
            if (part == 0)
            {
                if (config.PrivateKey is { } pk) pk.CopyTo(b.AddAttribute(DevPrivateKey, WgKey.Length));
                if (config.ListenPort is { } port) b.AddU16(DevListenPort, (ushort)port);
                if (config.FirewallMark is { } mark) b.AddU32(DevFwmark, mark);
                if (config.ReplacePeers) b.AddU32(DevFlags, DeviceReplacePeers);
            }
            if (pi < peers.Count)
            {
                int list = b.BeginNest(DevPeers);
                while (pi < peers.Count && b.Length + PeerHeaderRoom + AllowedIpRoom <= MessageLimit)
                {
                    var p = peers[pi];
                    int entry = b.BeginNest(0);
                    p.PublicKey.CopyTo(b.AddAttribute(PeerPublicKey, WgKey.Length));
                    uint flags = (p.Remove ? PeerRemoveMe : 0) | (p.UpdateOnly ? PeerUpdateOnly : 0)
                        | (ai == 0 && p.ReplaceAllowedIps ? PeerReplaceAllowedIps : 0);
                    if (flags != 0) b.AddU32(PeerFlags, flags);
                    if (ai == 0 && !p.Remove)
                    {
                        if (p.PresharedKey is { } psk) psk.CopyTo(b.AddAttribute(PeerPresharedKey, WgKey.Length));
                        if (p.Endpoint is { } ep) WriteSockaddr(b, PeerEndpoint, ep);
                        if (p.PersistentKeepaliveSeconds is { } ka) b.AddU16(PeerKeepalive, (ushort)ka);
                    }
                    if (!p.Remove && ai < p.AllowedIps.Count)
                    {
                        int ips = b.BeginNest(PeerAllowedIps);
                        for (; ai < p.AllowedIps.Count && b.Length + AllowedIpRoom + 16 <= MessageLimit; ai++)
                        {
                            var ip = p.AllowedIps[ai];
                            int one = b.BeginNest(0);
                            b.AddU16(IpFamily, ip.Family);
                            b.AddAddress(IpAddr, ip.Address);
                            b.AddU8(IpCidr, (byte)ip.PrefixLength);
                            b.EndNest(one);
                        }
                        b.EndNest(ips);
                    }
                    b.EndNest(entry);
                    if (!p.Remove && ai < p.AllowedIps.Count) break; // the rest of this peer goes in the next message
                    pi++;
                    ai = 0;
                }
                b.EndNest(list);
            }
            _socket.Execute(b, $"configure wireguard device \"{name}\"{(part > 0 ? $" (part {part + 1})" : "")}");
            part++;
        } while (pi < peers.Count);
    }

    public void Dispose() => _socket.Dispose();
}
