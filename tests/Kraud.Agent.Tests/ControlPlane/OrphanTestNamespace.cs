using Kraud.Net.Rtnl;
using Kraud.Commands;
using Kraud.Libc;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>A named network namespace (`ip netns add`) for one test, where links with aliases are made; removed after it.</summary>
public sealed class OrphanTestNamespace : IDisposable
{
    private static readonly ArgvRunner Run = new();

    public OrphanTestNamespace()
    {
        Name = "ko-" + Guid.NewGuid().ToString("N")[..8];
        Ip("netns", "add", Name);
        Ns = NetNs.OpenNamed(Name);
        Rtnl = RtNetlink.Open(Ns);
    }

    public string Name { get; }
    public NetNs Ns { get; }
    public RtNetlink Rtnl { get; }

    /// <summary>`ip -n NAME args...`, failing the test when it fails.</summary>
    public void InNs(params string[] args) => Ip(["-n", Name, .. args]);

    /// <summary>A bridge with <paramref name="alias"/> set through the library (null: no alias).</summary>
    public void AddBridge(string name, string? alias)
    {
        Rtnl.LinkAdd(new BridgeSpec(name));
        if (alias is not null) Rtnl.LinkSetAlias(Rtnl.LinkFind(name)!.Index, alias);
    }

    private static void Ip(params string[] args) => Run.RunCheckedAsync(["/usr/sbin/ip", .. args]).GetAwaiter().GetResult();

    public void Dispose()
    {
        Rtnl.Dispose();
        Ns.Dispose();
        Run.RunAsync(["/usr/sbin/ip", "netns", "del", Name]).GetAwaiter().GetResult();
    }
}
