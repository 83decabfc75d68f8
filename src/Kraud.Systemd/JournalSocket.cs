using System.Net.Sockets;
using Kraud.Libc;

namespace Kraud.Systemd;

/// <summary>
/// Sends native-protocol entries to journald (default /run/systemd/journal/socket). An entry too big for one
/// datagram goes as an empty datagram carrying a sealed memfd with the entry (SCM_RIGHTS), as sd-journal does.
/// </summary>
public sealed class JournalSocket : IDisposable
{
    public const string DefaultPath = "/run/systemd/journal/socket";

    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endpoint;
    private readonly Lock _gate = new();
    private bool _connected;

    public JournalSocket(string path = DefaultPath)
    {
        Path = path;
        _endpoint = new UnixDomainSocketEndPoint(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public string Path { get; }

    /// <summary>Sends one entry; returns false when journald is not reachable (the caller falls back).</summary>
    public bool Send(ReadOnlySpan<byte> entry)
    {
        lock (_gate)
        {
            try
            {
                if (!_connected)
                {
                    _socket.Connect(_endpoint);
                    _connected = true;
                }
                _socket.Send(entry, SocketFlags.None);
                return true;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.NoBufferSpaceAvailable)
            {
                return SendAsMemfd(entry);
            }
            catch (SocketException)
            {
                // journald restarted or is absent: reconnect on the next entry.
                _connected = false;
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    private unsafe bool SendAsMemfd(ReadOnlySpan<byte> entry)
    {
        int fd = Native.memfd_create("journal-entry", Native.MFD_CLOEXEC | Native.MFD_ALLOW_SEALING);
        if (fd < 0) return false;
        try
        {
            fixed (byte* p = entry)
            {
                long off = 0;
                while (off < entry.Length)
                {
                    nint n = Native.write(fd, p + off, (nint)(entry.Length - off));
                    if (n <= 0) return false;
                    off += n;
                }
            }
            // journald only accepts memfds sealed against change.
            Native.fcntl(fd, Native.F_ADD_SEALS, Native.F_SEAL_SHRINK | Native.F_SEAL_GROW | Native.F_SEAL_WRITE | Native.F_SEAL_SEAL);
            FdPassing.Send((int)_socket.Handle, ReadOnlySpan<byte>.Empty, fd);
            return true;
        }
        catch (LibcException)
        {
            return false;
        }
        finally
        {
            Native.close(fd);
        }
    }

    public void Dispose() => _socket.Dispose();
}
