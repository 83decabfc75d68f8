using System.Text;
using Kraud.Nats.Internal;

namespace Kraud.Nats.Tests;

/// <summary>The parser against fragmented reads (1..7 bytes per read) and big payloads that force buffer growth.</summary>
public sealed class ProtocolReaderTests
{
    private sealed class Recorder : IProtocolHandler
    {
        public readonly List<string> Ops = [];

        public void OnMsg(long sid, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size)
        {
            var h = headers.IsEmpty ? "-" : HeaderParser.Parse(headers).ToString();
            var p = payload.Length > 32 ? $"<{payload.Length} bytes, last {payload[^1]}>" : Encoding.UTF8.GetString(payload);
            Ops.Add($"MSG {Encoding.UTF8.GetString(subject)} {sid} {Encoding.UTF8.GetString(replyTo)} [{h}] {p}");
        }

        public void OnPing() => Ops.Add("PING");
        public void OnPong() => Ops.Add("PONG");
        public void OnInfo(ReadOnlySpan<byte> json) => Ops.Add("INFO " + Encoding.UTF8.GetString(json));
        public void OnError(string text) => Ops.Add("ERR " + text);
    }

    /// <summary>Returns the data in small random chunks, then end of stream.</summary>
    private sealed class ChoppyStream(byte[] data, int seed) : Stream
    {
        private readonly Random _rng = new(seed);
        private int _pos;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, _rng.Next(1, 8)), data.Length - _pos);
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Parses_every_operation_across_fragmented_reads(int seed)
    {
        var big = new byte[200_000];
        big[^1] = 7;
        var wire = new MemoryStream();
        void W(string s) => wire.Write(Encoding.UTF8.GetBytes(s));
        W("INFO {\"server_id\":\"x\",\"ldm\":true}\r\n");
        W("PING\r\n");
        W("MSG a.b 1 5\r\nhello\r\n");
        W("MSG a.b 12 _INBOX.x.1 0\r\n\r\n");
        const string hdr = "NATS/1.0\r\nNats-Msg-Id: id-1\r\nX: a b\r\n\r\n";
        W($"HMSG c.d 3 {hdr.Length} {hdr.Length + 3}\r\n{hdr}abc\r\n");
        W("HMSG _INBOX.r.7 4 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
        const string status = "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n";
        W($"HMSG in.box 5 reply.to {status.Length} {status.Length}\r\n{status}\r\n");
        W($"MSG big 6 {big.Length}\r\n");
        wire.Write(big);
        W("\r\n");
        W("-ERR 'Permissions Violation for Publish to \"x\"'\r\n");
        W("PONG\r\n");

        var rec = new Recorder();
        var reader = new ProtocolReader(new ChoppyStream(wire.ToArray(), seed));
        var ex = await Assert.ThrowsAsync<NatsException>(() => reader.RunAsync(rec, CancellationToken.None));
        Assert.Contains("closed", ex.Message);
        Assert.Equal(
        [
            "INFO {\"server_id\":\"x\",\"ldm\":true}",
            "PING",
            "MSG a.b 1  [-] hello",
            "MSG a.b 12 _INBOX.x.1 [-] ",
            "MSG c.d 3  [Nats-Msg-Id: id-1; X: a b; ] abc",
            "MSG _INBOX.r.7 4  [503 ; ] ",
            "MSG in.box 5 reply.to [408 Request Timeout; Nats-Pending-Messages: 1; ] ",
            "MSG big 6  [-] <200000 bytes, last 7>",
            "ERR Permissions Violation for Publish to \"x\"",
            "PONG",
        ], rec.Ops);
    }

    [Fact]
    public async Task Garbage_is_a_protocol_error()
    {
        var reader = new ProtocolReader(new MemoryStream(Encoding.UTF8.GetBytes("WHAT is this\r\n")));
        var ex = await Assert.ThrowsAsync<NatsException>(() => reader.RunAsync(new Recorder(), CancellationToken.None));
        Assert.Contains("unknown protocol operation", ex.Message);
    }
}
