using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Kraud.Testing;

/// <summary>
/// Plays systemd's side of sd_notify: a datagram socket the test owns (a path, or abstract when
/// <paramref name="abstractName"/> is true) that records every message with its arrival time.
/// </summary>
public sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentQueue<(TimeSpan At, string Text)> _messages = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _loop;
    private readonly string? _path;

    public NotifyListener(bool abstractName = false)
    {
        string name = $"kraud-notify-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (abstractName)
        {
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            Address = "@" + name;
        }
        else
        {
            _path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), name + ".sock");
            _socket.Bind(new UnixDomainSocketEndPoint(_path));
            Address = _path;
        }
        _loop = Task.Run(Loop);
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Address { get; }

    /// <summary>Every assignment received (one entry per line of each datagram), in order.</summary>
    public IReadOnlyList<(TimeSpan At, string Text)> Messages => _messages.ToArray();

    public bool Has(string assignment) => Messages.Any(m => m.Text == assignment);

    public int IndexOf(Func<string, bool> match)
    {
        var all = Messages;
        for (int i = 0; i < all.Count; i++) if (match(all[i].Text)) return i;
        return -1;
    }

    private void Loop()
    {
        var buffer = new byte[65536];
        while (true)
        {
            int n;
            try
            {
                n = _socket.Receive(buffer);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            var at = _clock.Elapsed;
            foreach (string line in Encoding.UTF8.GetString(buffer, 0, n).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                _messages.Enqueue((at, line));
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _loop.Wait(TimeSpan.FromSeconds(2));
        if (_path is not null) File.Delete(_path);
    }
}
