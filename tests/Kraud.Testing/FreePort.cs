using System.Net;
using System.Net.Sockets;

namespace Kraud.Testing;

/// <summary>Free TCP ports on 127.0.0.1 (bind to 0, read the port, close).</summary>
public static class FreePort
{
    public static int Next()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
