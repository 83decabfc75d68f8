using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Kraud.Net.Rtnl;
using Kraud.Commands;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Net.WireGuard;

/// <summary>A refusal from wireguard-go's UAPI socket (errno=N) or a missing socket.</summary>
public sealed class WireGuardUapiException(string operation, int errno, string detail)
    : IOException($"{operation}: {detail} (errno {errno})")
{
    public string Operation { get; } = operation;
    public int Errno { get; } = errno;
}

/// <summary>
/// Userspace WireGuard (wireguard-go) through its UAPI socket /var/run/wireguard/NAME.sock: "get=1" and
/// "set=1" key=value text with hex keys. The socket path does not depend on the network namespace, so two
/// devices on one machine need distinct names. wireguard-go does not report the public key: it is derived here.
/// </summary>
public sealed class UserspaceWireGuard : IWireGuardBackend
{
    public const string SocketDirectory = "/var/run/wireguard";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private readonly NetNs? _ns;
    private readonly ArgvRunner _runner;

    /// <summary>Devices in <paramref name="ns"/> (null: ours); wireguard-go's output goes to <paramref name="logger"/>.</summary>
    public UserspaceWireGuard(NetNs? ns = null, ILogger? logger = null)
    {
        _ns = ns;
        _runner = new ArgvRunner(logger) { DefaultTimeout = StartTimeout };
    }

    public WgBackendKind Kind => WgBackendKind.Userspace;

    public static string SocketPath(string name) => Path.Combine(SocketDirectory, name + ".sock");

    /// <summary>True when wireguard-go is installed.</summary>
    public static bool IsAvailable() => ExecutablePath.Find("wireguard-go") is not null;

    /// <summary>Starts wireguard-go for <paramref name="name"/> in the namespace; returns once its UAPI socket answers.</summary>
    public void CreateInterface(string name)
    {
        string operation = $"create wireguard-go device \"{name}\"";
        string exe = ExecutablePath.Find("wireguard-go") ?? throw new WireGuardUapiException(operation, Errno.ENOENT, "wireguard-go is not installed");
        // Argv, no shell. nsenter puts the daemon (and so its tun device and UDP socket) into the namespace, through
        // our own fd: works however the namespace was opened (named, by pid, or the current thread's).
        string[] argv = _ns is null ? [exe, name]
            : [ExecutablePath.Find("nsenter") ?? throw new WireGuardUapiException(operation, Errno.ENOENT, "nsenter is not installed (util-linux)"),
               $"--net=/proc/{Environment.ProcessId}/fd/{_ns.Fd}", exe, name];
        // The runner gives the daemon none of the agent's configuration or secrets: it keeps its environment for as
        // long as it runs. That also leaves out WG_PROCESS_FOREGROUND (it would not detach) and LOG_LEVEL (without
        // it the daemon's stdio is /dev/null and does not hold our pipes, so the run ends when the parent detaches).
        CommandResult r;
        try
        {
            // CreateInterface is synchronous (IWireGuardBackend); it runs once per device, at its creation.
            r = _runner.RunAsync(argv).GetAwaiter().GetResult();
        }
        catch (CommandTimeoutException)
        {
            throw new WireGuardUapiException(operation, Errno.EAGAIN, "wireguard-go did not detach in time");
        }
        if (!r.Succeeded)
            throw new WireGuardUapiException(operation, Errno.EIO, $"wireguard-go exited {r.ExitCode}: {(r.Stdout + r.Stderr).Trim()}");

        var until = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                Exchange(name, "get=1\n\n", "probe");
                return;
            }
            catch (WireGuardUapiException) when (DateTime.UtcNow < until)
            {
                Thread.Sleep(10); // the daemon binds its socket right after detaching
            }
        }
    }

    /// <inheritdoc/>
    public WgDeviceSummary Compare(string name, WgKey privateKey, WgDeviceTemplate wanted) => wanted.Compare(GetDevice(name), privateKey);

    public WgDevice GetDevice(string name)
    {
        string reply = Exchange(name, "get=1\n\n", $"get wireguard device \"{name}\"");
        WgKey? priv = null;
        int port = 0;
        uint fwmark = 0;
        var peers = new List<WgPeer>();
        WgPeer? peer = null;
        long hsSec = 0, hsNsec = 0;

        void Flush()
        {
            if (peer is null) return;
            peers.Add(hsSec == 0 && hsNsec == 0 ? peer : peer with { LastHandshake = DateTimeOffset.FromUnixTimeSeconds(hsSec).AddTicks(hsNsec / 100) });
            peer = null;
            hsSec = hsNsec = 0;
        }

        foreach (var line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq < 0) continue;
            string key = line[..eq], value = line[(eq + 1)..];
            switch (key)
            {
                case "private_key": priv = WgKey.FromHex(value); break;
                case "listen_port": port = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "fwmark": fwmark = uint.Parse(value, CultureInfo.InvariantCulture); break;
                case "public_key":
                    Flush();
                    peer = new WgPeer(WgKey.FromHex(value));
                    break;
                case "preshared_key" when peer is not null:
                    var psk = WgKey.FromHex(value);
                    peer = peer with { PresharedKey = psk.IsZero ? null : psk };
                    break;
                case "endpoint" when peer is not null: peer = peer with { Endpoint = IPEndPoint.Parse(value) }; break;
                case "persistent_keepalive_interval" when peer is not null:
                    peer = peer with { PersistentKeepaliveSeconds = int.Parse(value, CultureInfo.InvariantCulture) };
                    break;
                case "last_handshake_time_sec": hsSec = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "last_handshake_time_nsec": hsNsec = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "rx_bytes" when peer is not null: peer = peer with { ReceiveBytes = long.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "tx_bytes" when peer is not null: peer = peer with { TransmitBytes = long.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "protocol_version" when peer is not null: peer = peer with { ProtocolVersion = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "allowed_ip" when peer is not null: peer.AllowedIps.Add(IpPrefix.Parse(value)); break;
            }
        }
        Flush();
        return new WgDevice(name, priv, priv is { } k && !k.IsZero ? k.PublicKey() : null, port, fwmark, peers);
    }

    public void ConfigureDevice(string name, WgConfig config)
    {
        var sb = new StringBuilder("set=1\n");
        if (config.PrivateKey is { } pk) sb.Append("private_key=").Append(pk.ToHex()).Append('\n');
        if (config.ListenPort is { } port) sb.Append("listen_port=").Append(port.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (config.FirewallMark is { } mark) sb.Append("fwmark=").Append(mark.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (config.ReplacePeers) sb.Append("replace_peers=true\n");
        foreach (var p in config.Peers)
        {
            sb.Append("public_key=").Append(p.PublicKey.ToHex()).Append('\n');
            if (p.Remove)
            {
                sb.Append("remove=true\n");
                continue;
            }
            if (p.UpdateOnly) sb.Append("update_only=true\n");
            if (p.PresharedKey is { } psk) sb.Append("preshared_key=").Append(psk.ToHex()).Append('\n');
            if (p.Endpoint is { } ep) sb.Append("endpoint=").Append(ep.ToString()).Append('\n');
            if (p.PersistentKeepaliveSeconds is { } ka) sb.Append("persistent_keepalive_interval=").Append(ka.ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (p.ReplaceAllowedIps) sb.Append("replace_allowed_ips=true\n");
            foreach (var ip in p.AllowedIps) sb.Append("allowed_ip=").Append(ip.ToString()).Append('\n');
        }
        sb.Append('\n');
        Exchange(name, sb.ToString(), $"configure wireguard device \"{name}\"");
    }

    /// <summary>One request on a fresh connection; the reply ends with "errno=N" and a blank line.</summary>
    private static string Exchange(string name, string request, string operation)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath(name)));
        }
        catch (SocketException e)
        {
            throw new WireGuardUapiException(operation, Errno.ENODEV, $"no wireguard-go device: {SocketPath(name)}: {e.Message}");
        }
        socket.Send(Encoding.ASCII.GetBytes(request));
        var reply = new StringBuilder();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int n = socket.Receive(buffer);
            if (n == 0) break;
            reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
            if (reply.Length >= 2 && reply[^1] == '\n' && reply[^2] == '\n') break;
        }
        string text = reply.ToString();
        int at = text.LastIndexOf("errno=", StringComparison.Ordinal);
        if (at < 0) throw new WireGuardUapiException(operation, Errno.EIO, "reply without errno");
        int errno = int.Parse(text.AsSpan(at + 6).TrimEnd('\n'), CultureInfo.InvariantCulture);
        if (errno != 0) throw new WireGuardUapiException(operation, errno, "wireguard-go refused the request");
        return text[..at];
    }

    public void Dispose()
    {
    }
}
