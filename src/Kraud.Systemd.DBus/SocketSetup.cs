using System.Globalization;
using System.Net.Sockets;
using Kraud.Libc;
using Tmds.DBus.Protocol;

namespace Kraud.Systemd.DBus;

/// <summary>
/// Opens the connection's socket ourselves so that its authentication goes out the way sd-bus clients send it
/// (<see cref="PipelinedBeginStream"/>). No fd passing: nothing systemd's manager answers us carries descriptors.
/// </summary>
internal sealed class SocketSetup(string address) : DBusConnectionOptions
{
    protected override async ValueTask<SetupResult> SetupAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified); // .NET: SOCK_CLOEXEC
        try
        {
            await socket.ConnectAsync(Endpoint(address), cancellationToken).ConfigureAwait(false);
            return new SetupResult
            {
                UserId = Native.geteuid().ToString(CultureInfo.InvariantCulture),
                ConnectionStream = new PipelinedBeginStream(new NetworkStream(socket, ownsSocket: true)),
            };
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The socket of a `unix:path=` or `unix:abstract=` address, the kinds systemd and dbus-daemon listen on.</summary>
    internal static UnixDomainSocketEndPoint Endpoint(string address)
    {
        foreach (var part in address.Split(';')[0].Replace("unix:", "", StringComparison.Ordinal).Split(','))
        {
            if (part.StartsWith("path=", StringComparison.Ordinal)) return new(Uri.UnescapeDataString(part[5..]));
            if (part.StartsWith("abstract=", StringComparison.Ordinal)) return new("\0" + Uri.UnescapeDataString(part[9..]));
        }
        throw new SystemdException($"'{address}' is not a unix:path= or unix:abstract= D-Bus address");
    }
}

/// <summary>
/// Sends BEGIN together with the first AUTH line, as sd-bus clients (systemctl) do, and drops the BEGIN the D-Bus
/// library writes later. Why: the library writes BEGIN after the server's OK and its Hello right behind it;
/// systemd's own server (sd-bus on /run/systemd/private, seen with systemd 254 in the lane) can read BEGIN and
/// Hello in one read, switch to running and leave the Hello in its buffer until more bytes arrive, so the connect
/// hung (in the lane, about one connect in three right after another connection). With BEGIN sent first, the
/// server has left authentication before the OK reaches us, so the Hello always arrives on its own.
/// </summary>
/// <remarks>A rejected AUTH EXTERNAL (not root) then fails the connect instead of trying ANONYMOUS, which
/// systemd's manager would refuse anyway.</remarks>
internal sealed class PipelinedBeginStream(Stream inner) : Stream
{
    private static readonly byte[] Begin = "BEGIN\r\n"u8.ToArray();
    private bool _beginSent, _libraryBeginDropped;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_beginSent && buffer.Span.StartsWith("AUTH "u8))
        {
            _beginSent = true;
            return inner.WriteAsync(buffer.ToArray().Concat(Begin).ToArray(), cancellationToken);
        }
        if (_beginSent && !_libraryBeginDropped && buffer.Span.SequenceEqual(Begin))
        {
            _libraryBeginDropped = true;
            return ValueTask.CompletedTask;
        }
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
