using System.Net;
using System.Net.Sockets;

namespace Kraud.Net.Rtnl;

/// <summary>
/// An address with a prefix length, host bits allowed ("fd42::1/64" is an interface address, not a network);
/// <see cref="Network"/> clears them. Unlike System.Net.IPNetwork this accepts interface addresses.
/// </summary>
public readonly record struct IpPrefix
{
    public IpPrefix(IPAddress address, int prefixLength)
    {
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (prefixLength < 0 || prefixLength > max)
            throw new ArgumentOutOfRangeException(nameof(prefixLength), $"prefix length {prefixLength} is outside 0..{max} for {address}");
        Address = address;
        PrefixLength = prefixLength;
    }

    public IPAddress Address { get; }
    public int PrefixLength { get; }

    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;
    public byte Family => (byte)(IsIPv6 ? 10 : 2);

    /// <summary>A single host: /32 or /128.</summary>
    public static IpPrefix Host(IPAddress address) => new(address, address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);

    /// <summary>Parses "addr/len" (or a bare address as a host prefix); the error names the text.</summary>
    public static IpPrefix Parse(string text)
    {
        if (TryParse(text, out var prefix, out string? error)) return prefix;
        throw new FormatException(error);
    }

    public static bool TryParse(string? text, out IpPrefix prefix, out string? error)
    {
        prefix = default;
        error = null;
        if (string.IsNullOrWhiteSpace(text)) { error = "empty prefix"; return false; }
        int slash = text.IndexOf('/');
        string addrText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addrText, out var address) || addrText.Contains('%'))
        {
            error = $"'{text}' is not an IP address or prefix";
            return false;
        }
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        int length = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out length) || length > max))
        {
            error = $"'{text}' has a bad prefix length (expected 0..{max})";
            return false;
        }
        prefix = new IpPrefix(address, length);
        return true;
    }

    /// <summary>The prefix with host bits cleared.</summary>
    public IpPrefix Network
    {
        get
        {
            if (PrefixLength == (IsIPv6 ? 128 : 32)) return this; // a host prefix has no host bits
            Span<byte> bytes = stackalloc byte[16];
            Address.TryWriteBytes(bytes, out int n);
            bytes = bytes[..n];
            for (int bit = PrefixLength; bit < n * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
            return new IpPrefix(new IPAddress(bytes), PrefixLength);
        }
    }

    public bool Contains(IPAddress address)
    {
        if (address.AddressFamily != Address.AddressFamily) return false;
        return new IpPrefix(address, PrefixLength).Network.Address.Equals(Network.Address);
    }

    public override string ToString() => $"{Address}/{PrefixLength}";
}
