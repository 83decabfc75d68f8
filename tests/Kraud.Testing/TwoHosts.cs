using Kraud.Net.Rtnl;

namespace Kraud.Testing;

/// <summary>
/// Two test "hosts": namespaces joined by a veth underlay (fd00:99::1 and fd00:99::2, plus fd00:99::22 on B
/// as a second endpoint). WireGuard interface names are distinct per host because wireguard-go's socket
/// path is shared by every namespace.
/// </summary>
public sealed class TwoHosts : IDisposable
{
    public TwoHosts()
    {
        string tag = Guid.NewGuid().ToString("N")[..5];
        A = new TestNetns("kha");
        B = new TestNetns("khb");
        IfA = $"kva{tag}";
        IfB = $"kvb{tag}";
        StateA = Directory.CreateTempSubdirectory("kraud-net-a").FullName;
        StateB = Directory.CreateTempSubdirectory("kraud-net-b").FullName;
        A.Rtnl.LinkAdd(new VethSpec("u0", "u0") { PeerNamespace = B.Ns });
        Underlay(A, "fd00:99::1/64");
        Underlay(B, "fd00:99::2/64", "fd00:99::22/64");
    }

    private static void Underlay(TestNetns ns, params string[] addresses)
    {
        int ix = ns.Rtnl.LinkGet("u0").Index;
        foreach (var a in addresses) ns.Rtnl.AddrAdd(ix, IpPrefix.Parse(a));
        ns.Rtnl.LinkSetUp(ix);
    }

    public TestNetns A { get; }
    public TestNetns B { get; }
    public string IfA { get; }
    public string IfB { get; }
    public string StateA { get; }
    public string StateB { get; }

    /// <summary>
    /// Pings from <paramref name="from"/> until one reply arrives or the deadline passes; from inside a VRF when
    /// <paramref name="device"/> names it (`ping -I VRF`).
    /// </summary>
    public static Task PingAsync(TestNetns from, string address, TimeSpan timeout) => PingAsync(from, address, timeout, null);

    /// <inheritdoc cref="PingAsync(TestNetns, string, TimeSpan)"/>
    public static async Task PingAsync(TestNetns from, string address, TimeSpan timeout, string? device)
    {
        var until = DateTime.UtcNow + timeout;
        string last = "";
        while (DateTime.UtcNow < until)
        {
            var (code, output) = device is null ? from.TryExec("ping", "-c", "1", "-W", "1", address) : from.TryExec("ping", "-I", device, "-c", "1", "-W", "1", address);
            if (code == 0) return;
            last = output;
            await Task.Yield();
        }
        throw new TimeoutException($"no ping reply from {address} in {from.Name} within {timeout.TotalSeconds} s: {last}");
    }

    public void Dispose()
    {
        // A failed test may leave the WireGuard devices: deleting the tun makes wireguard-go exit, which
        // deleting the namespace alone would not (the daemon keeps its namespace alive).
        foreach (var (ns, name) in new[] { (A, IfA), (B, IfB) })
            if (ns.Rtnl.LinkFind(name) is { } link) ns.Rtnl.LinkDel(link.Index);
        A.Dispose();
        B.Dispose();
        Directory.Delete(StateA, true);
        Directory.Delete(StateB, true);
    }
}
