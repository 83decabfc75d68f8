using System.Buffers;
using System.Text;

namespace Kraud.Nats.Internal;

/// <summary>A growable byte buffer rented from the array pool: protocol commands are encoded into it and the writer sends it whole.</summary>
internal sealed class CommandBuffer : IDisposable
{
    private const int InitialSize = 64 * 1024;
    private byte[] _buf = ArrayPool<byte>.Shared.Rent(InitialSize);

    public int Length { get; private set; }

    /// <summary>PINGs encoded and not yet sent: after a reconnect their PONGs must not answer new waiters.</summary>
    public int PingCount { get; set; }

    public ReadOnlyMemory<byte> Written => _buf.AsMemory(0, Length);

    public Span<byte> GetSpan(int size)
    {
        if (_buf.Length - Length < size)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buf.Length * 2, Length + size));
            _buf.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = bigger;
        }
        return _buf.AsSpan(Length);
    }

    public void Advance(int count) => Length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void WriteString(string s)
    {
        var span = GetSpan(Encoding.UTF8.GetMaxByteCount(s.Length));
        Length += Encoding.UTF8.GetBytes(s, span);
    }

    public void WriteNumber(long value)
    {
        value.TryFormat(GetSpan(20), out var written);
        Length += written;
    }

    public void Space() => Write(" "u8);

    public void Crlf() => Write("\r\n"u8);

    /// <summary>Empties the buffer; a buffer grown for a burst goes back to the pool.</summary>
    public void Reset()
    {
        Length = 0;
        PingCount = 0;
        if (_buf.Length > 4 * InitialSize)
        {
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = ArrayPool<byte>.Shared.Rent(InitialSize);
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = [];
        Length = 0;
    }
}
