using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Kraud.Libc;

namespace Kraud.Systemd.Tests;

/// <summary>Plays journald: a datagram socket that parses native-protocol entries, including memfd-carried ones.</summary>
internal sealed class JournalListener : IDisposable
{
    private readonly Socket _socket;

    public JournalListener(string path)
    {
        Path = path;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        _socket.ReceiveTimeout = 10_000;
    }

    public string Path { get; }

    /// <summary>Receives one entry; <paramref name="viaMemfd"/> tells whether it came as a passed fd.</summary>
    public unsafe Dictionary<string, string> Receive(out bool viaMemfd)
    {
        var buffer = new byte[256 * 1024];
        int n = FdPassing.Receive((int)_socket.Handle, buffer, out int fd);
        viaMemfd = fd >= 0;
        byte[] data = buffer[..n];
        if (fd >= 0)
        {
            // Read from offset 0 as journald does (it maps the memfd): the sender's file offset is shared.
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
            data = new byte[RandomAccess.GetLength(handle)];
            int read = 0;
            while (read < data.Length) read += RandomAccess.Read(handle, data.AsSpan(read), read);
        }
        return Parse(data);
    }

    /// <summary>Parses KEY=value\n and the binary-safe KEY\n&lt;u64 le&gt;bytes\n forms.</summary>
    public static Dictionary<string, string> Parse(ReadOnlySpan<byte> data)
    {
        var fields = new Dictionary<string, string>();
        while (data.Length > 0)
        {
            int nl = data.IndexOf((byte)'\n');
            int eq = data.IndexOf((byte)'=');
            if (eq >= 0 && (nl < 0 || eq < nl))
            {
                string key = Encoding.ASCII.GetString(data[..eq]);
                int end = nl < 0 ? data.Length : nl;
                fields[key] = Encoding.UTF8.GetString(data[(eq + 1)..end]);
                data = data[Math.Min(end + 1, data.Length)..];
            }
            else
            {
                string key = Encoding.ASCII.GetString(data[..nl]);
                ulong len = BinaryPrimitives.ReadUInt64LittleEndian(data[(nl + 1)..]);
                var value = data.Slice(nl + 9, (int)len);
                fields[key] = Encoding.UTF8.GetString(value);
                if (data[nl + 9 + (int)len] != (byte)'\n') throw new FormatException("binary field not terminated by a newline");
                data = data[(nl + 10 + (int)len)..];
            }
        }
        return fields;
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}
