using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>
/// What sender and receiver say over the TLS stream: one JSON line each way per step, and between them the
/// `zfs send` stream in length-prefixed chunks ending with an empty one. The explicit end lets the receiver tell
/// a whole stream from a cut connection, which zfs receive -s then keeps as a resume token.
/// </summary>
public static class ReplicationWire
{
    public const string StateOp = "state", ReceiveOp = "receive";
    private const int MaxLine = 256 * 1024;

    /// <summary>
    /// Both ends, on their socket: each write goes at once. A question and its answer are single small segments, and
    /// Nagle's wait for the peer's (delayed) ACK would add tens of milliseconds to each; the stream itself goes in 1 MiB
    /// writes anyway.
    /// </summary>
    public static void NoDelay(System.Net.Sockets.Socket socket)
    {
        if (socket.ProtocolType == System.Net.Sockets.ProtocolType.Tcp) socket.NoDelay = true;
    }

    public static async Task WriteAsync<T>(Stream s, T message, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, CancellationToken ct)
    {
        // One write: the line and its newline in one TLS record and one TCP segment.
        var line = new MemoryStream();
        JsonSerializer.Serialize(line, message, info);
        line.WriteByte((byte)'\n');
        await s.WriteAsync(line.GetBuffer().AsMemory(0, (int)line.Length), ct).ConfigureAwait(false);
        await s.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads one line (at most 256 KiB) and parses it; a closed stream or a bad line is an <see cref="IOException"/>.</summary>
    public static async Task<T> ReadAsync<T>(Stream s, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, CancellationToken ct)
    {
        var line = new MemoryStream();
        var one = new byte[1];
        while (true)
        {
            if (await s.ReadAsync(one, ct).ConfigureAwait(false) == 0) throw new IOException("the peer closed the connection");
            if (one[0] == (byte)'\n') break;
            if (line.Length >= MaxLine) throw new IOException("a protocol line is longer than 256 KiB");
            line.WriteByte(one[0]);
        }
        try { return JsonSerializer.Deserialize(line.ToArray(), info) ?? throw new IOException("an empty protocol line"); }
        catch (JsonException e) { throw new IOException("not a replication protocol line: " + e.Message, e); }
    }
}

public sealed class ReplicationRequest
{
    public string Op { get; init; } = "";
    public string Volume { get; init; } = "";
    /// <summary>A receive's incremental base (short name): the replica rolls back to it when it has newer snapshots the source lost.</summary>
    public string? Base { get; init; }
}

public sealed class ReplicationReply
{
    public bool Ok { get; init; }
    public string? Error { get; init; }
    /// <summary>The receiver's receive_resume_token, when a cut transfer left one.</summary>
    public string? Token { get; init; }
    /// <summary>The replica's snapshots, oldest first (name without the dataset, guid).</summary>
    public List<ReplicaSnapshot>? Snapshots { get; init; }
}

public sealed record ReplicaSnapshot(string Name, string Guid);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReplicationRequest))]
[JsonSerializable(typeof(ReplicationReply))]
public sealed partial class ReplicationWireJsonContext : JsonSerializerContext;

/// <summary>Writes the bytes given to it as chunks (4-byte big-endian length, then the bytes); <see cref="EndAsync"/> writes the empty end chunk.</summary>
public sealed class ChunkWriteStream(Stream inner) : Stream
{
    private readonly byte[] _header = new byte[4];

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        if (buffer.Length == 0) return;
        BinaryPrimitives.WriteInt32BigEndian(_header, buffer.Length);
        await inner.WriteAsync(_header, ct).ConfigureAwait(false);
        await inner.WriteAsync(buffer, ct).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public async Task EndAsync(CancellationToken ct)
    {
        BinaryPrimitives.WriteInt32BigEndian(_header, 0);
        await inner.WriteAsync(_header, ct).ConfigureAwait(false);
        await inner.FlushAsync(ct).ConfigureAwait(false);
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Reads chunks until the empty end chunk (then 0, end of stream). A connection that ends before it is an <see cref="IOException"/>: the stream was cut.</summary>
public sealed class ChunkReadStream(Stream inner, int maxChunk = 16 << 20) : Stream
{
    private int _left;
    private bool _ended;
    private readonly byte[] _header = new byte[4];

    public long Bytes { get; private set; }
    public bool Ended => _ended;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_ended || buffer.Length == 0) return 0;
        if (_left == 0)
        {
            await inner.ReadExactlyAsync(_header, ct).ConfigureAwait(false); // EndOfStreamException is an IOException
            _left = BinaryPrimitives.ReadInt32BigEndian(_header);
            if (_left < 0 || _left > maxChunk) throw new IOException($"a stream chunk of {_left} bytes is not allowed");
            if (_left == 0) { _ended = true; return 0; }
        }
        int n = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, _left)], ct).ConfigureAwait(false);
        if (n == 0) throw new IOException("the stream was cut before its end");
        _left -= n;
        Bytes += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override void Flush() { }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
