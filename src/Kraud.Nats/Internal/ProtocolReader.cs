using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Kraud.Nats.Internal;

/// <summary>
/// Reads server operations from the socket stream into one pooled buffer and parses them in place
/// (a line state machine; MSG/HMSG payloads are handed out as spans, never copied here).
/// </summary>
internal sealed class ProtocolReader(Stream stream) : IDisposable
{
    private const int InitialSize = 64 * 1024;
    private const int MaxControlLine = 64 * 1024;
    private byte[] _buf = ArrayPool<byte>.Shared.Rent(InitialSize);
    private int _start;
    private int _end;

    /// <summary>Parses operations until the stream ends or fails.</summary>
    public async Task RunAsync(IProtocolHandler handler, CancellationToken cancellationToken)
    {
        while (true)
        {
            var need = Process(handler);
            if (!await FillAsync(need, cancellationToken).ConfigureAwait(false))
                throw new NatsException("server closed the connection");
        }
    }

    /// <summary>Reads one control line (handshake only).</summary>
    public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var span = _buf.AsSpan(_start, _end - _start);
            var i = span.IndexOf("\r\n"u8);
            if (i >= 0)
            {
                var line = Encoding.UTF8.GetString(span[..i]);
                _start += i + 2;
                return line;
            }
            if (span.Length > MaxControlLine) throw new NatsException("protocol line too long");
            if (!await FillAsync(span.Length + 1, cancellationToken).ConfigureAwait(false))
                throw new NatsException("server closed the connection");
        }
    }

    /// <summary>Handles every complete operation buffered; returns how many buffered bytes the next one needs.</summary>
    private int Process(IProtocolHandler h)
    {
        while (true)
        {
            var span = _buf.AsSpan(_start, _end - _start);
            var lineEnd = span.IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                if (span.Length > MaxControlLine) throw new NatsException("protocol line too long");
                return span.Length + 1;
            }
            var line = span[..lineEnd];
            if (line.Length < 3)
            {
                if (line.Length == 0) { _start += 2; continue; }
                throw Unknown(line);
            }
            var c0 = (byte)(line[0] | 0x20);
            if (c0 == 'm' || c0 == 'h')
            {
                var consumed = ParseMsg(h, span, line, lineEnd, c0 == 'h');
                if (consumed < 0) return -consumed;
                _start += consumed;
                continue;
            }
            _start += lineEnd + 2;
            if (c0 == 'p' && line.Length >= 4)
            {
                var c1 = (byte)(line[1] | 0x20);
                if (c1 == 'i') h.OnPing();
                else if (c1 == 'o') h.OnPong();
                else throw Unknown(line);
            }
            else if (c0 == 'i') h.OnInfo(line.Length > 5 ? line[5..] : default);
            else if (c0 == '+') { } // +OK only with verbose, which we never ask for
            else if (c0 == '-') h.OnError(ErrorText(line));
            else throw Unknown(line);
        }
    }

    /// <summary>Parses MSG/HMSG; returns bytes consumed, or minus the bytes needed when the payload is not in yet.</summary>
    private static int ParseMsg(IProtocolHandler h, ReadOnlySpan<byte> span, ReadOnlySpan<byte> line, int lineEnd, bool withHeaders)
    {
        Span<Range> args = stackalloc Range[6];
        var n = Tokenize(line, args);
        // MSG subj sid [reply] size | HMSG subj sid [reply] hsize total
        var expectedMin = withHeaders ? 5 : 4;
        if (n < expectedMin || n > expectedMin + 1) throw Unknown(line);
        var hasReply = n == expectedMin + 1;
        var subject = line[args[1]];
        var sid = ParseLong(line[args[2]], line);
        var reply = hasReply ? line[args[3]] : default;
        var hdrLen = withHeaders ? (int)ParseLong(line[args[n - 2]], line) : 0;
        var total = (int)ParseLong(line[args[n - 1]], line);
        var needed = lineEnd + 2 + total + 2;
        if (span.Length < needed) return -needed;
        var body = span.Slice(lineEnd + 2, total);
        h.OnMsg(sid, subject, reply, body[..hdrLen], body[hdrLen..], subject.Length + reply.Length + total);
        return needed;
    }

    private static int Tokenize(ReadOnlySpan<byte> line, Span<Range> args)
    {
        var n = 0;
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) i++;
            if (i >= line.Length) break;
            var s = i;
            while (i < line.Length && line[i] != ' ' && line[i] != '\t') i++;
            if (n == args.Length) return n + 1;
            args[n++] = new Range(s, i);
        }
        return n;
    }

    private static long ParseLong(ReadOnlySpan<byte> s, ReadOnlySpan<byte> line)
    {
        if (!Utf8Parser.TryParse(s, out long v, out var used) || used != s.Length || v < 0) throw Unknown(line);
        return v;
    }

    private static string ErrorText(ReadOnlySpan<byte> line)
    {
        var t = Encoding.UTF8.GetString(line.Length > 4 ? line[4..] : default).Trim();
        return t.Trim('\'');
    }

    private static NatsException Unknown(ReadOnlySpan<byte> line)
    {
        var shown = line.Length > 80 ? line[..80] : line;
        return new NatsException($"unknown protocol operation from server: '{Encoding.UTF8.GetString(shown)}'");
    }

    /// <summary>Makes room for <paramref name="need"/> buffered bytes and reads once; false at end of stream.</summary>
    private async ValueTask<bool> FillAsync(int need, CancellationToken cancellationToken)
    {
        var buffered = _end - _start;
        if (buffered == 0) _start = _end = 0;
        if (_buf.Length - _start < need || _end == _buf.Length)
        {
            if (need > _buf.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(need, _buf.Length * 2));
                _buf.AsSpan(_start, buffered).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buf);
                _buf = bigger;
            }
            else
            {
                _buf.AsSpan(_start, buffered).CopyTo(_buf);
            }
            _start = 0;
            _end = buffered;
        }
        else if (buffered == 0 && _buf.Length > 4 * InitialSize)
        {
            // A burst of large messages is over: give the big buffer back.
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = ArrayPool<byte>.Shared.Rent(InitialSize);
            _start = _end = 0;
        }
        var read = await stream.ReadAsync(_buf.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0) return false;
        _end += read;
        return true;
    }

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref _buf, []);
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
