using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Kraud.Net.Rtnl;

namespace Kraud.Net.WireGuard;

/// <summary>
/// A peer a device should have. <paramref name="Endpoint"/> null: any (WireGuard learns it from the peer's packets);
/// <paramref name="PersistentKeepaliveSeconds"/> 0: off. No preshared key.
/// </summary>
public readonly record struct WgWantedPeer(WgKey PublicKey, IPEndPoint? Endpoint, int PersistentKeepaliveSeconds, IReadOnlyList<IpPrefix> AllowedIps);

/// <summary>What a device read back has: whether it is as wanted, and the few facts a status reports.</summary>
public readonly record struct WgDeviceSummary(bool Matches, WgKey? PublicKey, int ListenPort, int PeerCount);

/// <summary>
/// The peers (and listen port) a device should have, prepared once so that a device read back is compared with them
/// without building a copy of it: keys in a dictionary, allowed IPs as sorted numbers per peer, endpoints as bytes. A
/// device matches when it has exactly these peers, each with these allowed IPs (as a set, host bits cleared), this
/// keepalive, no preshared key, and this endpoint where one is given; and this listen port when one is given.
/// </summary>
public sealed class WgDeviceTemplate
{
    private readonly Dictionary<WgKey, int> _index;
    private readonly ushort[] _keepalive;
    private readonly byte[]?[] _endpoint;
    private readonly int[] _allowedStart; // peer i's allowed IPs: _allowed[_allowedStart[i] .. _allowedStart[i + 1]], sorted
    private readonly AllowedIp[] _allowed;

    public WgDeviceTemplate(int? listenPort, IReadOnlyList<WgWantedPeer> peers)
    {
        ListenPort = listenPort;
        _index = new Dictionary<WgKey, int>(peers.Count);
        _keepalive = new ushort[peers.Count];
        _endpoint = new byte[]?[peers.Count];
        _allowedStart = new int[peers.Count + 1];
        var allowed = new List<AllowedIp>(peers.Count);
        for (int i = 0; i < peers.Count; i++)
        {
            var p = peers[i];
            if (!_index.TryAdd(p.PublicKey, i)) throw new ArgumentException($"peer {p.PublicKey} appears twice", nameof(peers));
            _keepalive[i] = checked((ushort)p.PersistentKeepaliveSeconds);
            _endpoint[i] = p.Endpoint is null ? null : EndpointBytes(p.Endpoint);
            int start = allowed.Count;
            foreach (var a in p.AllowedIps)
            {
                var ip = AllowedIp.Of(a.Network);
                bool twice = false;
                for (int j = start; j < allowed.Count && !twice; j++) twice = allowed[j] == ip;
                if (!twice) allowed.Add(ip);
            }
            allowed.Sort(start, allowed.Count - start, null);
            _allowedStart[i + 1] = allowed.Count;
        }
        _allowed = [.. allowed];
    }

    /// <summary>Null: whatever port the device has.</summary>
    public int? ListenPort { get; }

    public int PeerCount => _keepalive.Length;

    /// <summary>Compares a device read back as objects (wireguard-go's, or a kernel device read whole).</summary>
    public WgDeviceSummary Compare(WgDevice device, WgKey privateKey)
    {
        var match = new Match(this, privateKey);
        match.Device(device.PrivateKey, device.PublicKey, device.ListenPort);
        Span<byte> ep = stackalloc byte[EndpointLength];
        foreach (var p in device.Peers)
        {
            int i = match.Peer(p.PublicKey);
            if (i < 0) continue;
            int n = p.Endpoint is null ? 0 : WriteEndpoint(p.Endpoint, ep);
            match.PeerFields(i, p.PresharedKey is { IsZero: false }, (ushort)p.PersistentKeepaliveSeconds, n == 0 ? null : ep[..n]);
            foreach (var a in p.AllowedIps) match.Allowed(i, AllowedIp.Of(a.Network));
        }
        return match.Result();
    }

    /// <summary>
    /// One comparison in progress, fed piece by piece (a kernel dump splits a peer's allowed IPs across messages);
    /// <see cref="Result"/> at the end. After the first difference everything else is ignored.
    /// </summary>
    public sealed class Match
    {
        private readonly WgDeviceTemplate _t;
        private readonly WgKey _privateKey;
        private readonly bool[] _fields;
        private readonly int[] _allowedSeen;
        private bool _differs;
        private int _peers;
        private WgKey? _publicKey;
        private int _listenPort;

        public Match(WgDeviceTemplate template, WgKey privateKey)
        {
            _t = template;
            _privateKey = privateKey;
            _fields = new bool[template.PeerCount];
            _allowedSeen = new int[template.PeerCount];
        }

        public bool Differs => _differs;

        public void Device(WgKey? privateKey, WgKey? publicKey, int listenPort)
        {
            _publicKey = publicKey;
            _listenPort = listenPort;
            if (privateKey != _privateKey || (_t.ListenPort is { } port && port != listenPort)) _differs = true;
        }

        /// <summary>The peer's index in the template; -1 (and the device differs) when it is not wanted.</summary>
        public int Peer(WgKey publicKey)
        {
            if (_differs) return -1;
            if (_t._index.TryGetValue(publicKey, out int i)) return i;
            _differs = true;
            return -1;
        }

        /// <summary>A peer's own fields (the first part of it in a dump); <paramref name="endpoint"/> as <see cref="WriteEndpoint"/> writes it.</summary>
        public void PeerFields(int i, bool hasPresharedKey, ushort keepalive, ReadOnlySpan<byte> endpoint)
        {
            if (_differs) return;
            if (_fields[i] || hasPresharedKey || keepalive != _t._keepalive[i]
                || (_t._endpoint[i] is { } want && !endpoint.SequenceEqual(want)))
            {
                _differs = true;
                return;
            }
            _fields[i] = true;
            _peers++;
        }

        public void Allowed(int i, AllowedIp ip)
        {
            if (_differs) return;
            int start = _t._allowedStart[i], count = _t._allowedStart[i + 1] - start;
            if (count == 1 ? _t._allowed[start] != ip : Array.BinarySearch(_t._allowed, start, count, ip) < 0) _differs = true;
            else _allowedSeen[i]++;
        }

        public WgDeviceSummary Result()
        {
            bool matches = !_differs && _peers == _t.PeerCount;
            for (int i = 0; matches && i < _allowedSeen.Length; i++)
                matches = _allowedSeen[i] == _t._allowedStart[i + 1] - _t._allowedStart[i];
            return new WgDeviceSummary(matches, _publicKey, _listenPort, _differs ? -1 : _peers);
        }
    }

    /// <summary>Room for an endpoint as bytes: family, port, address, scope.</summary>
    public const int EndpointLength = 1 + 2 + 16 + 4;

    private static byte[] EndpointBytes(IPEndPoint ep)
    {
        Span<byte> b = stackalloc byte[EndpointLength];
        return b[..WriteEndpoint(ep, b)].ToArray();
    }

    /// <summary>An endpoint as bytes that compare equal exactly when the endpoints are (address, port, IPv6 scope).</summary>
    public static int WriteEndpoint(IPEndPoint ep, Span<byte> to)
    {
        bool v6 = ep.AddressFamily == AddressFamily.InterNetworkV6;
        to[0] = (byte)(v6 ? 10 : 2);
        BinaryPrimitives.WriteUInt16BigEndian(to[1..], (ushort)ep.Port);
        ep.Address.TryWriteBytes(to[3..], out int n);
        if (!v6) return 3 + n;
        BinaryPrimitives.WriteUInt32LittleEndian(to[19..], (uint)ep.Address.ScopeId);
        return 23;
    }

    /// <summary>The same bytes from a kernel sockaddr_in/sockaddr_in6; 0 when it is neither.</summary>
    public static int WriteEndpoint(ReadOnlySpan<byte> sockaddr, Span<byte> to)
    {
        if (sockaddr.Length < 8) return 0;
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr);
        to[0] = (byte)family;
        sockaddr.Slice(2, 2).CopyTo(to[1..]); // sin_port is big-endian already
        if (family == 2)
        {
            sockaddr.Slice(4, 4).CopyTo(to[3..]);
            return 7;
        }
        if (family != 10 || sockaddr.Length < 28) return 0;
        sockaddr.Slice(8, 16).CopyTo(to[3..]);
        sockaddr.Slice(24, 4).CopyTo(to[19..]); // sin6_scope_id, host order (little-endian here)
        return 23;
    }
}

/// <summary>An allowed IP as numbers (network bits only), ordered for binary search.</summary>
public readonly record struct AllowedIp(byte Family, byte PrefixLength, UInt128 Bits) : IComparable<AllowedIp>
{
    public static AllowedIp Of(IpPrefix network)
    {
        Span<byte> b = stackalloc byte[16];
        network.Address.TryWriteBytes(b, out int n);
        return Of(network.Family, b[..n], network.PrefixLength);
    }

    /// <summary>From an address's bytes (4 or 16, network order) and a prefix length; host bits cleared.</summary>
    public static AllowedIp Of(byte family, ReadOnlySpan<byte> address, int prefixLength)
    {
        int width = address.Length * 8;
        UInt128 bits = address.Length == 16 ? BinaryPrimitives.ReadUInt128BigEndian(address) : BinaryPrimitives.ReadUInt32BigEndian(address);
        int clear = width - Math.Clamp(prefixLength, 0, width);
        if (clear > 0) bits = clear >= 128 ? 0 : bits >> clear << clear;
        return new AllowedIp(family, (byte)prefixLength, bits);
    }

    public int CompareTo(AllowedIp other)
    {
        int c = Family.CompareTo(other.Family);
        if (c == 0) c = PrefixLength.CompareTo(other.PrefixLength);
        return c != 0 ? c : Bits.CompareTo(other.Bits);
    }
}
