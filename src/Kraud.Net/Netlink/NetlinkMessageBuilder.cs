using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Kraud.Net.Netlink;

/// <summary>
/// Builds one netlink message (header, fixed family header, attributes with nesting) in a pooled buffer.
/// Integers are host order (little-endian); every attribute is padded to 4 bytes.
/// </summary>
public sealed class NetlinkMessageBuilder : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public NetlinkMessageBuilder(ushort type, ushort flags, int capacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 64));
        Reset(type, flags);
    }

    public ushort Type { get; private set; }
    public ushort Flags { get; private set; }

    /// <summary>Bytes written so far, header included (for size-based splitting).</summary>
    public int Length => _length;

    /// <summary>Starts over with a new header, keeping the buffer.</summary>
    public void Reset(ushort type, ushort flags)
    {
        Type = type;
        Flags = flags;
        _length = 0;
        Reserve(Nl.HeaderLength);
    }

    /// <summary>Appends <paramref name="length"/> zeroed bytes, 4-aligned, and returns them to fill.</summary>
    public Span<byte> Reserve(int length)
    {
        int aligned = Nl.Align(length);
        if (_length + aligned > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + aligned));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        var span = _buffer.AsSpan(_length, aligned);
        span.Clear();
        _length += aligned;
        return span[..length];
    }

    /// <summary>A fixed family header (ifinfomsg, rtmsg, genlmsghdr...), written raw.</summary>
    public void AddHeader(ReadOnlySpan<byte> header) => header.CopyTo(Reserve(header.Length));

    public Span<byte> AddAttribute(ushort type, int payloadLength)
    {
        if (4 + payloadLength > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(payloadLength), "netlink attribute over 64 KiB");
        var span = Reserve(4 + payloadLength);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)(4 + payloadLength));
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        return span[4..];
    }

    public void AddBytes(ushort type, ReadOnlySpan<byte> value) => value.CopyTo(AddAttribute(type, value.Length));
    public void AddU8(ushort type, byte value) => AddAttribute(type, 1)[0] = value;
    public void AddU16(ushort type, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(AddAttribute(type, 2), value);
    public void AddU32(ushort type, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(AddAttribute(type, 4), value);
    public void AddI32(ushort type, int value) => BinaryPrimitives.WriteInt32LittleEndian(AddAttribute(type, 4), value);
    public void AddU64(ushort type, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(AddAttribute(type, 8), value);
    public void AddFlag(ushort type) => AddAttribute(type, 0);

    /// <summary>A string with its trailing NUL counted in the length (what strict policies require).</summary>
    public void AddString(ushort type, string value)
    {
        var span = AddAttribute(type, Encoding.UTF8.GetByteCount(value) + 1);
        Encoding.UTF8.GetBytes(value, span);
    }

    public void AddAddress(ushort type, IPAddress address)
    {
        var span = AddAttribute(type, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 16 : 4);
        address.TryWriteBytes(span, out _);
    }

    /// <summary>Opens a nested attribute (NLA_F_NESTED set); close it with <see cref="EndNest"/>.</summary>
    public int BeginNest(ushort type)
    {
        int start = _length;
        AddAttribute((ushort)(type | Nl.NLA_F_NESTED), 0);
        return start;
    }

    public void EndNest(int start) => BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), checked((ushort)(_length - start)));

    /// <summary>Drops everything written since <paramref name="start"/> (a nest that would not fit).</summary>
    public void Truncate(int start) => _length = start;

    /// <summary>The finished message, length and sequence patched in. Valid until the next change.</summary>
    public ReadOnlySpan<byte> Finish(uint seq)
    {
        var span = _buffer.AsSpan(0, _length);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)_length);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)(Flags | Nl.F_REQUEST | Nl.F_ACK));
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], seq);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], 0);
        return span;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
