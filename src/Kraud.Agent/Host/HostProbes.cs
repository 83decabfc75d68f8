using System.Net.Sockets;
using System.Text;
using Kraud.Agent.Config;
using Kraud.Commands;
using Kraud.Libc;

namespace Kraud.Agent.Host;

/// <summary>
/// Checks what this host has: KVM, netlink, WireGuard (kernel or userspace), ip6tnl, ZFS, nfsd, the state
/// directory and the NATS servers. `doctor` prints them; the heartbeat reports the capabilities from the same code.
/// </summary>
public sealed class HostProbes(KernelModules modules)
{
    public HostProbes() : this(new KernelModules()) { }

    public Capabilities Capabilities() => new(
        Kvm: Kvm().Ok,
        Zfs: Zfs().Ok,
        Wireguard: WireguardMode(),
        Ip6tnl: Ip6tnl().Ok,
        Nfs: Nfs().Ok);

    /// <summary>Everything `doctor` checks, in the order it prints them.</summary>
    public async Task<IReadOnlyList<ProbeResult>> AllAsync(AgentConfig config, CancellationToken ct)
    {
        var results = new List<ProbeResult> { StateDir(config), Netlink(), Kvm(), Wireguard(), Ip6tnl(), Zfs(), Nfs() };
        results.AddRange(await NatsAsync(config, ct));
        return results;
    }

    public static ProbeResult StateDir(AgentConfig config)
    {
        try
        {
            State.StateDir.Prepare(config.StateDir);
            string probe = Path.Combine(config.StateDir, ".doctor-probe");
            State.StateDir.WriteFile(probe, "");
            File.Delete(probe);
            return new("state-dir", true, true, $"{config.StateDir} is writable (owner only)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new("state-dir", false, true, $"{config.StateDir}: {e.Message}", $"run as root or set stateDir in {config.Source}");
        }
    }

    public static ProbeResult Netlink()
    {
        try
        {
            using var fd = Sockets.Open(Sockets.AF_NETLINK, Sockets.SOCK_RAW, Kraud.Net.Netlink.Nl.NETLINK_ROUTE);
            return new("netlink", true, true, "rtnetlink socket opens");
        }
        catch (LibcException e)
        {
            return new("netlink", false, true, "cannot open an rtnetlink socket: " + e.Message, "the agent needs a Linux kernel with netlink and CAP_NET_ADMIN");
        }
    }

    public static unsafe ProbeResult Kvm()
    {
        const nuint KVM_GET_API_VERSION = 0xAE00;
        int fd = Native.open("/dev/kvm", Native.O_RDWR);
        if (fd < 0)
            return new("kvm", false, false, "/dev/kvm: " + LibcException.FromLastError("open").Message,
                "enable virtualization in the firmware and load kvm_amd or kvm_intel (modprobe kvm_amd)");
        try
        {
            int version = Native.ioctl(fd, KVM_GET_API_VERSION, 0);
            return version == 12
                ? new("kvm", true, false, "/dev/kvm API version 12")
                : new("kvm", false, false, $"/dev/kvm reports API version {version}, expected 12", "use a kernel with the stable KVM API");
        }
        finally
        {
            Native.close(fd);
        }
    }

    private string WireguardMode() =>
        modules.IsAvailable("wireguard") ? "kernel" : ExecutablePath.Find("wireguard-go") is not null ? "userspace" : "none";

    public ProbeResult Wireguard() => WireguardMode() switch
    {
        "kernel" => new("wireguard", true, false, modules.IsLoaded("wireguard") ? "kernel module loaded" : "kernel module available"),
        "userspace" => new("wireguard", true, false, "no kernel module; userspace wireguard-go found"),
        _ => new("wireguard", false, false, $"no wireguard module for kernel {KernelModules.Release} and no wireguard-go",
            "use Debian's kernel (it ships the module) or apt install wireguard-go"),
    };

    public ProbeResult Ip6tnl() => modules.IsAvailable("ip6_tunnel")
        ? new("ip6tnl", true, false, modules.IsLoaded("ip6_tunnel") ? "ip6_tunnel module loaded" : "ip6_tunnel module available")
        : new("ip6tnl", false, false, $"no ip6_tunnel module for kernel {KernelModules.Release}", "use a kernel with CONFIG_IPV6_TUNNEL (Debian's has it)");

    public ProbeResult Zfs()
    {
        bool module = modules.IsAvailable("zfs");
        string? zfs = ExecutablePath.Find("zfs");
        string? zpool = ExecutablePath.Find("zpool");
        if (module && zfs is not null && zpool is not null)
            return new("zfs", true, false, $"zfs module {(modules.IsLoaded("zfs") ? "loaded" : "available")}; {zfs}, {zpool}");
        var missing = new List<string>();
        if (!module) missing.Add($"no zfs module for kernel {KernelModules.Release}");
        if (zfs is null || zpool is null) missing.Add("zfs/zpool commands not found");
        return new("zfs", false, false, string.Join("; ", missing),
            "add contrib and bookworm-backports, then apt install -t bookworm-backports zfs-dkms zfsutils-linux");
    }

    public ProbeResult Nfs()
    {
        bool module = modules.IsAvailable("nfsd") || Directory.Exists("/proc/fs/nfsd/") && File.Exists("/proc/fs/nfsd/exports");
        string? exportfs = ExecutablePath.Find("exportfs");
        if (module && exportfs is not null) return new("nfsd", true, false, $"nfsd available; {exportfs}");
        var missing = new List<string>();
        if (!module) missing.Add($"no nfsd module for kernel {KernelModules.Release}");
        if (exportfs is null) missing.Add("exportfs not found");
        return new("nfsd", false, false, string.Join("; ", missing), "apt install nfs-kernel-server");
    }

    /// <summary>One line per configured server: TCP connect and the server's INFO, with JetStream on.</summary>
    public static async Task<IReadOnlyList<ProbeResult>> NatsAsync(AgentConfig config, CancellationToken ct)
    {
        var results = new List<ProbeResult>();
        int reachable = 0;
        foreach (string server in config.Nats.Servers)
        {
            var r = await NatsServerAsync(server, config.Source, ct);
            if (r.Ok) reachable++;
            results.Add(r);
        }
        // One reachable server is enough to run; the others are reported but not required.
        return results.Select(r => r with { Required = reachable == 0 }).ToList();
    }

    private static async Task<ProbeResult> NatsServerAsync(string server, string source, CancellationToken ct)
    {
        var uri = new Uri(server);
        int port = uri.IsDefaultPort || uri.Port < 0 ? 4222 : uri.Port;
        string name = $"nats {uri.Host}:{port}";
        string fix = $"start nats-server with -js there, or fix nats.servers in {source}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(uri.Host, port, timeout.Token);
            var buffer = new byte[4096];
            int n = await client.GetStream().ReadAsync(buffer, timeout.Token);
            string info = Encoding.UTF8.GetString(buffer, 0, n);
            if (!info.StartsWith("INFO ", StringComparison.Ordinal)) return new(name, false, true, "does not speak NATS", fix);
            bool js = info.Contains("\"jetstream\":true", StringComparison.Ordinal);
            string version = Between(info, "\"version\":\"", "\"") ?? "?";
            return js
                ? new(name, true, true, $"nats-server {version}, JetStream on")
                : new(name, false, true, $"nats-server {version} without JetStream", "start it with -js (JetStream)");
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return new(name, false, true, e is OperationCanceledException ? "no answer within 2 s" : e.Message, fix);
        }
    }

    private static string? Between(string s, string start, string end)
    {
        int i = s.IndexOf(start, StringComparison.Ordinal);
        if (i < 0) return null;
        i += start.Length;
        int j = s.IndexOf(end, i, StringComparison.Ordinal);
        return j < 0 ? null : s[i..j];
    }
}
