using System.Collections.Concurrent;
using System.Diagnostics;
using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>
/// One tenant on the two test hosts, with the addresses every tenant of <see cref="TenantIsolationLaneTests"/> uses:
/// VPC fd42:1::1 (host A) and fd42:1::2 (host B), pods fd42:1:a::17 / 10.20.0.17 on A and fd42:1:b::17 / 10.20.0.18 on
/// B, overlay net4 10.20.0.0/24. Its Vpc and Overlays are made by the reconcilers; its pods are namespaces joined to the
/// host by a veth that the test wires as PodTap wires a pod's tap (into the VRF, transit addresses, /128 and /32 in the
/// VRF's table): a tap needs a VM behind it to carry traffic.
/// </summary>
public sealed class TenantNetwork : IDisposable
{
    private readonly TwoHosts _hosts;
    private readonly string _stateA, _stateB;

    public TenantNetwork(TwoHosts hosts, int n, WgBackendKind kind, string[]? extraPodAddressesOnB = null)
    {
        _hosts = hosts;
        string tag = Guid.NewGuid().ToString("N")[..5];
        Id = $"vpc-t{n}";
        IfA = $"kt{n}a{tag}";
        IfB = $"kt{n}b{tag}";
        PortA = 51820 + 10 * n;
        PortB = 51821 + 10 * n;
        _stateA = Directory.CreateDirectory(Path.Combine(hosts.StateA, Id)).FullName;
        _stateB = Directory.CreateDirectory(Path.Combine(hosts.StateB, Id)).FullName;
        RecA = new VpcReconciler(hosts.A.Ns, kind);
        RecB = new VpcReconciler(hosts.B.Ns, kind);
        PodA = new TestNetns($"kp{n}a");
        PodB = new TestNetns($"kp{n}b");
        PodSideA = $"kq{n}a{tag}";
        PodSideB = $"kq{n}b{tag}";
        _extraOnB = extraPodAddressesOnB ?? [];
    }

    private readonly string[] _extraOnB;
    public string Id { get; }
    public string IfA { get; }
    public string IfB { get; }
    public int PortA { get; }
    public int PortB { get; }
    public VpcReconciler RecA { get; }
    public VpcReconciler RecB { get; }
    public OverlayReconciler OvA => new(_hosts.A.Ns);
    public OverlayReconciler OvB => new(_hosts.B.Ns);
    public TestNetns PodA { get; }
    public TestNetns PodB { get; }
    public string PodSideA { get; }
    public string PodSideB { get; }
    public string OverlayId => "ov-" + Id;
    public List<string> Tunnels { get; } = [];

    public async Task UpAsync()
    {
        string pubA = (string)(await RecA.ReconcileAsync(Spec(IfA, PortA, "fd42:1::1/64"), _stateA, Id))["publicKey"]!;
        string pubB = (string)(await RecB.ReconcileAsync(Spec(IfB, PortB, "fd42:1::2/64"), _stateB, Id))["publicKey"]!;
        await RecA.ReconcileAsync(Spec(IfA, PortA, "fd42:1::1/64", new VpcPeerSpec
        {
            PublicKey = pubB, Endpoint = $"[fd00:99::2]:{PortB}", AllowedIps = ["fd42:1::2/128", "fd42:1:b::/64"],
        }) with { Routes = [new VpcRouteSpec { Destination = "fd42:1:b::/64" }] }, _stateA, Id);
        await RecB.ReconcileAsync(Spec(IfB, PortB, "fd42:1::2/64", new VpcPeerSpec
        {
            PublicKey = pubA, Endpoint = $"[fd00:99::1]:{PortA}", AllowedIps = ["fd42:1::1/128", "fd42:1:a::/64"],
        }) with { Routes = [new VpcRouteSpec { Destination = "fd42:1:a::/64" }] }, _stateB, Id);

        var membersOfB = new List<OverlayEndpoint> { new() { Ip6 = "fd42:1::2", Ip4 = "10.20.0.18" } };
        membersOfB.AddRange(_extraOnB.Where(a => !a.Contains(':')).Select(a => new OverlayEndpoint { Ip6 = "fd42:1::2", Ip4 = a }));
        var obsA = await OvA.ReconcileAsync(OverlayId, Overlay(IfA, "fd42:1::1", "10.20.0.1", membersOfB));
        var obsB = await OvB.ReconcileAsync(OverlayId, Overlay(IfB, "fd42:1::2", "10.20.0.2", [new() { Ip6 = "fd42:1::1", Ip4 = "10.20.0.17" }]));
        Tunnels.AddRange(obsA["tunnels"]!.AsArray().Concat(obsB["tunnels"]!.AsArray()).Select(t => (string)t!["name"]!).Distinct());

        WirePod(_hosts.A, PodA, PodSideA, ["fd42:1:a::17", "10.20.0.17"]);
        WirePod(_hosts.B, PodB, PodSideB, ["fd42:1:b::17", "10.20.0.18", .. _extraOnB]);
    }

    private OverlaySpec Overlay(string underlay, string local6, string local4, List<OverlayEndpoint> members) => new()
    {
        Namespace = "shop", Name = "default", Vpc = Id, Net4 = "10.20.0.0/24", Underlay = underlay,
        Local = new OverlayEndpoint { Ip6 = local6, Ip4 = local4 }, Members = members,
    };

    private static VpcSpec Spec(string iface, int port, string address, params VpcPeerSpec[] peers) => VpcScenario.Spec(iface, port, address, peers);

    /// <summary>What PodTap does for a pod in a Vpc, on a veth whose other end is the pod's eth0.</summary>
    private void WirePod(TestNetns host, TestNetns pod, string hostSide, string[] addresses)
    {
        host.Rtnl.LinkAdd(new VethSpec(hostSide, "eth0") { PeerNamespace = pod.Ns });
        var vrf = VpcDomain.Find(host.Rtnl, Id) ?? throw new InvalidOperationException($"no VRF of {Id}");
        var link = host.Rtnl.LinkGet(hostSide);
        VpcDomain.Enslave(host.Rtnl, link, vrf);
        host.Rtnl.LinkSetUp(link.Index);
        NetSysctl.Ensure(host.Ns, [.. VpcDomain.TenantIpv4(hostSide), .. VpcDomain.TenantIpv6(hostSide)]);
        host.Rtnl.AddrAdd(link.Index, IpPrefix.Parse("fdee:face::1/128"));
        host.Rtnl.AddrAdd(link.Index, IpPrefix.Parse("169.254.1.1/32"));
        int eth0 = pod.Rtnl.LinkGet("eth0").Index;
        pod.Rtnl.LinkSetUp(eth0);
        foreach (var a in addresses)
        {
            var p = IpPrefix.Host(System.Net.IPAddress.Parse(a));
            host.Rtnl.RouteAdd(new Route(p) { OutputIndex = link.Index, Table = vrf.VrfTable!.Value, Protocol = RouteProtocols.Kraud });
            pod.Rtnl.AddrAdd(eth0, p);
        }
        pod.Exec("ip", "-6", "route", "add", "fdee:face::1/128", "dev", "eth0");
        pod.Exec("ip", "-6", "route", "add", "default", "via", "fdee:face::1", "dev", "eth0");
        pod.Exec("ip", "route", "add", "169.254.1.1/32", "dev", "eth0");
        pod.Exec("ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0", "src", addresses[1]);
    }

    /// <summary>The tenant's own interfaces on host A and B: WireGuard, tunnels, the pods' host sides.</summary>
    public (string[] A, string[] B) Interfaces()
    {
        string[] On(TestNetns host, string wg, string pod) =>
            [wg, pod, .. Tunnels.Where(t => host.Rtnl.LinkFind(t) is not null)];
        return (On(_hosts.A, IfA, PodSideA), On(_hosts.B, IfB, PodSideB));
    }

    /// <summary>Deletes the tenant as the agent would: pods (their taps), then its overlays, then its Vpc, on both hosts.</summary>
    public async Task DeleteAsync()
    {
        foreach (var (host, side) in new[] { (_hosts.A, PodSideA), (_hosts.B, PodSideB) })
            if (host.Rtnl.LinkFind(side) is { } l) host.Rtnl.LinkDel(l.Index);
        await OvA.DeleteAsync(OverlayId);
        await OvB.DeleteAsync(OverlayId);
        await RecA.DeleteOwnedAsync(Id, IfA);
        await RecB.DeleteOwnedAsync(Id, IfB);
    }

    public void Dispose()
    {
        foreach (var (host, name) in new[] { (_hosts.A, IfA), (_hosts.B, IfB) })
            if (host.Rtnl.LinkFind(name) is { } link) host.Rtnl.LinkDel(link.Index);
        PodA.Dispose();
        PodB.Dispose();
        RecA.Dispose();
        RecB.Dispose();
    }
}

/// <summary>
/// A packet capture (AF_PACKET, every protocol) on interfaces of one namespace, by a python3 child inside it: counts
/// the IPv4 and IPv6 packets each interface sees, leaving out the kernel's own neighbour discovery and MLD chatter.
/// </summary>
public sealed class PacketCapture : IDisposable
{
    private const string Script = """
        import socket, select, sys
        socks = {}
        for name in sys.argv[1:]:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
            s.bind((name, 0))
            socks[s.fileno()] = (name, s)
        counts = {n: 0 for n, _ in socks.values()}
        print("ready", flush=True)
        while True:
            r, _, _ = select.select([s for _, s in socks.values()] + [sys.stdin], [], [])
            for f in r:
                if f is sys.stdin:
                    if not sys.stdin.readline():
                        print(" ".join(f"{n}={c}" for n, c in counts.items()), flush=True)
                        sys.exit(0)
                    continue
                data = f.recv(65535)
                v = data[0] >> 4 if data else 0
                if v == 6 and len(data) > 40 and (data[6] == 0 or (data[6] == 58 and 130 <= data[40] <= 143)):
                    continue
                if v in (4, 6):
                    counts[socks[f.fileno()][0]] += 1
        """;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    public PacketCapture(TestNetns ns, params string[] interfaces)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["netns", "exec", ns.Name, "python3", "-c", Script, .. interfaces]) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue("stderr: " + e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public async Task ReadyAsync()
    {
        await Deadline.WaitUntilAsync(() => _lines.Contains("ready") || _process.HasExited, TimeSpan.FromSeconds(60), "the capture to start");
        if (!_lines.Contains("ready")) throw new InvalidOperationException("capture failed: " + string.Join("\n", _lines));
    }

    /// <summary>Ends the capture; the packets each interface saw.</summary>
    public Dictionary<string, int> Stop()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(60_000)) throw new TimeoutException("the capture did not stop");
        _process.WaitForExit();
        string last = _lines.LastOrDefault(l => l.Contains('=')) ?? throw new InvalidOperationException("capture gave no counts: " + string.Join("\n", _lines));
        return last.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => int.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
