using System.Net;
using Kraud.Net.Netlink;
using Kraud.Net.Rtnl;

namespace Kraud.Net.Tests;

/// <summary>Messages built here match byte for byte what the reference captured from the kernel's own tools.</summary>
public class NetlinkWireFormatTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s.Replace(" ", ""));

    [Fact]
    public void VethCreateMatchesLiveCapture()
    {
        using var b = new NetlinkMessageBuilder(16, Nl.F_CREATE | Nl.F_EXCL);
        b.Reserve(16);
        b.AddString(3, "vA");
        int info = b.BeginNest(18);
        b.AddString(1, "veth");
        int data = b.BeginNest(2);
        int peer = b.BeginNest(1);
        b.Reserve(16);
        b.AddString(3, "vB");
        b.EndNest(peer);
        b.EndNest(data);
        b.EndNest(info);
        var expected = Hex("58000000 10000506 65000000 00000000" + "00000000 00000000 00000000 00000000" +
                           "07000300 76410000" + "30001280" + "09000100 76657468 00000000" + "20000280" + "1c000180" +
                           "00000000 00000000 00000000 00000000" + "07000300 76420000");
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(b.Finish(0x65)));
    }

    [Fact]
    public void GenlFamilyLookupMatchesLiveCapture()
    {
        using var b = new NetlinkMessageBuilder(0x10, 0);
        b.AddHeader([3, 1, 0, 0]);
        b.AddString(2, "wireguard");
        Assert.Equal("2400000010000500720000000000000003010000" + "0E000200776972656775617264000000",
            Convert.ToHexString(b.Finish(0x72)));
    }

    [Fact]
    public void AttributesRoundTripThroughReader()
    {
        using var b = new NetlinkMessageBuilder(20, 0);
        b.AddU8(3, 64);
        b.AddU16(6, 51820);
        int nest = b.BeginNest(8);
        b.AddAddress(2, IPAddress.Parse("fd00:10::"));
        b.EndNest(nest);
        var bytes = b.Finish(1).ToArray();
        var reader = new NetlinkAttributeReader(bytes.AsSpan(16));
        Assert.True(reader.Next(out var t1, out var v1));
        Assert.Equal((3, 64), (t1, (int)v1[0]));
        Assert.True(reader.Next(out var t2, out var v2));
        Assert.Equal((6, 51820), (t2, (int)Nla.U16(v2)));
        Assert.True(reader.Next(out var t3, out var v3));
        Assert.Equal(8, t3); // NLA_F_NESTED masked off
        var inner = new NetlinkAttributeReader(v3);
        Assert.True(inner.Next(out _, out var addr));
        Assert.Equal(IPAddress.Parse("fd00:10::"), new IPAddress(addr));
        Assert.False(reader.Next(out _, out _));
    }

    [Theory]
    [InlineData(new byte[] { 8, 0, 1, 0, 1, 2, 3, 4, 12, 0, 2, 0, 5, 6 }, 1)] // the second claims 12 bytes, 6 are left
    [InlineData(new byte[] { 8, 0, 1, 0, 1, 2, 3, 4, 3, 0, 2, 0 }, 1)] // a length below the header's 4
    [InlineData(new byte[] { 5, 0, 1, 0, 9 }, 1)] // the last one unpadded: read, then the end
    [InlineData(new byte[] { 4, 0, 1, 0, 4, 0, 2, 0, 1 }, 2)] // empty payloads; a trailing byte is no attribute
    public void MalformedOrShortAttributesEndTheWalkWithoutReadingPastTheBuffer(byte[] bytes, int expected)
    {
        var reader = new NetlinkAttributeReader(bytes);
        int n = 0, payload = 0;
        while (reader.Next(out ushort type, out var value))
        {
            Assert.Equal(++n, type);
            payload += value.Length;
        }
        Assert.Equal(expected, n);
        Assert.True(payload <= bytes.Length - 4 * n);
    }

    [Theory]
    [InlineData("fd42:1a8::1/64", "fd42:1a8::/64")]
    [InlineData("10.20.0.7/24", "10.20.0.0/24")]
    [InlineData("10.20.0.7", "10.20.0.7/32")]
    public void PrefixParsesAndMasks(string text, string network) => Assert.Equal(network, IpPrefix.Parse(text).Network.ToString());

    [Theory]
    [InlineData("fd42::1/129", "bad prefix length")]
    [InlineData("10.0.0.1/33", "bad prefix length")]
    [InlineData("10.0.0.1/-1", "bad prefix length")]
    [InlineData("nonsense/24", "not an IP address")]
    public void BadPrefixIsRejectedWithItsText(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => IpPrefix.Parse(text));
        Assert.Contains(text, e.Message);
        Assert.Contains(why, e.Message);
    }
}
