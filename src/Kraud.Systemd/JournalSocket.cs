using Kraud.Libc;

namespace Kraud.Systemd;

/// <summary>
/// Sends native-protocol entries to journald (default /run/systemd/journal/socket). An entry too big for one
/// datagram goes as an empty datagram carrying a sealed memfd with the entry (SCM_RIGHTS), as sd-journal does.
/// </summary>
public sealed class JournalSocket(string path = JournalSocket.DefaultPath) : IDisposable
{
    public const string DefaultPath = "/run/systemd/journal/socket";

    private readonly UnixDatagramSocket _socket = new(path);

    public string Path => _socket.Path;

    /// <summary>Sends one entry; returns false when journald is not reachable (the caller falls back).</summary>
    public bool Send(ReadOnlySpan<byte> entry)
    {
        int errno = _socket.TrySend(entry);
        if (errno is Errno.EMSGSIZE or Errno.ENOBUFS) return SendAsMemfd(entry);
        // Anything else (journald restarting or absent, the socket disposed) loses this entry only: every
        // datagram carries the address, so the next one reaches a journald that is back.
        return errno == 0;
    }

    private unsafe bool SendAsMemfd(ReadOnlySpan<byte> entry)
    {
        int fd = Native.memfd_create("journal-entry", Native.MFD_CLOEXEC | Native.MFD_ALLOW_SEALING);
        if (fd < 0) return false;
        try
        {
            if (Native.WriteAll(fd, entry) != 0) return false;
            // journald only accepts memfds sealed against change.
            Native.fcntl(fd, Native.F_ADD_SEALS, Native.F_SEAL_SHRINK | Native.F_SEAL_GROW | Native.F_SEAL_WRITE | Native.F_SEAL_SEAL);
            return _socket.TrySend(ReadOnlySpan<byte>.Empty, fd) == 0;
        }
        finally
        {
            Native.close(fd);
        }
    }

    public void Dispose() => _socket.Dispose();
}
