using System.Buffers.Binary;

namespace Kraud.Net.Netlink;

/// <summary>One received message: header fields and the payload after the 16-byte header.</summary>
public readonly struct NetlinkMessage
{
    public NetlinkMessage(ushort type, ushort flags, uint seq, ReadOnlyMemory<byte> payload)
    {
        Type = type;
        Flags = flags;
        Seq = seq;
        Payload = payload;
    }

    public ushort Type { get; }
    public ushort Flags { get; }
    public uint Seq { get; }
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Attributes that follow a fixed family header of <paramref name="headerLength"/> bytes.</summary>
    public NetlinkAttributeReader Attributes(int headerLength) =>
        new(Payload.Length >= headerLength ? Payload.Span[Nl.Align(headerLength)..] : default);
}

/// <summary>Walks the attributes of a message or nest; the type is returned without the NESTED/BYTEORDER bits.</summary>
public ref struct NetlinkAttributeReader
{
    private ReadOnlySpan<byte> _rest;

    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes) => _rest = attributes;

    public bool Next(out ushort type, out ReadOnlySpan<byte> payload)
    {
        type = 0;
        payload = default;
        if (_rest.Length < 4) return false;
        int len = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        if (len < 4 || len > _rest.Length) return false;
        type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & Nl.NLA_TYPE_MASK);
        payload = _rest[4..len];
        _rest = _rest[Math.Min(Nl.Align(len), _rest.Length)..];
        return true;
    }
}

/// <summary>Decoders for attribute payloads.</summary>
public static class Nla
{
    public static byte U8(ReadOnlySpan<byte> p) => p[0];
    public static ushort U16(ReadOnlySpan<byte> p) => BinaryPrimitives.ReadUInt16LittleEndian(p);
    public static uint U32(ReadOnlySpan<byte> p) => BinaryPrimitives.ReadUInt32LittleEndian(p);
    public static int I32(ReadOnlySpan<byte> p) => BinaryPrimitives.ReadInt32LittleEndian(p);
    public static ulong U64(ReadOnlySpan<byte> p) => BinaryPrimitives.ReadUInt64LittleEndian(p);

    public static string String(ReadOnlySpan<byte> p)
    {
        int nul = p.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(nul < 0 ? p : p[..nul]);
    }
}
