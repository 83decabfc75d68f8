using Kraud.Net.Rtnl;

namespace Kraud.Libc.Tests;

/// <summary>Persistent taps for VMs: created in a namespace, owned by the VMM's uid, attachable afterwards.</summary>
public class TapTests
{
    [Fact]
    public void CreatingATapOverSomeoneElsesRefusesAndLeavesIt()
    {
        using var ns = new TestNetns();
        ns.Exec("ip", "tuntap", "add", "dev", "kt-theirs", "mode", "tap", "user", "1234");
        int index = ns.Rtnl.LinkGet("kt-theirs").Index;

        var e = Assert.Throws<LibcException>(() => TunTap.CreatePersistent("kt-theirs", TapFlags.VnetHeader, ownerUid: 4242, ns: ns.Ns));
        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.StartsWith("create tap kt-theirs: it exists and is not kraud's; left untouched", e.Message);
        Assert.Equal(index, ns.Rtnl.LinkGet("kt-theirs").Index);
        string details = ns.Exec("ip", "-d", "link", "show", "kt-theirs");
        Assert.Contains("user 1234", details);
        Assert.DoesNotContain("vnet_hdr on", details);
    }

    [Fact]
    public void PersistentTapWithOwnerVnetHeaderInNamespace()
    {
        using var ns = new TestNetns();
        string name = TunTap.CreatePersistent("kt-vm1", TapFlags.VnetHeader, ownerUid: 4242, ns: ns.Ns);
        Assert.Equal("kt-vm1", name);
        var link = ns.Rtnl.LinkGet("kt-vm1");
        Assert.Equal("tun", link.Kind);
        string details = ns.Exec("ip", "-d", "link", "show", "kt-vm1");
        Assert.Contains("tap", details);
        Assert.Contains("persist on", details);
        Assert.Contains("vnet_hdr on", details);
        Assert.Contains("user 4242", details);
        using (var here = RtNetlink.Open()) Assert.Null(here.LinkFind("kt-vm1"));

        ns.Rtnl.LinkSetMtu(link.Index, 1372);
        ns.Rtnl.LinkSetUp(link.Index);
        Assert.Equal(1372, ns.Rtnl.LinkGet(link.Index).Mtu);

        // The VMM attaches after the agent closed its fd; a second attach while held is EBUSY.
        using (var queue = ns.Ns.Run(() => TunTap.Attach("kt-vm1", TapFlags.VnetHeader, out _)))
        {
            var busy = Assert.Throws<LibcException>(() => ns.Ns.Run(() => TunTap.Attach("kt-vm1", TapFlags.VnetHeader, out _)));
            Assert.Equal(Errno.EBUSY, busy.Errno);
            Assert.Contains("kt-vm1", busy.Message);
        }

        TunTap.DeletePersistent("kt-vm1", ns: ns.Ns);
        Assert.Null(ns.Rtnl.LinkFind("kt-vm1"));
    }

    [Fact]
    public void MultiQueueTapAcceptsSeveralQueuesAndDeletesByNetlink()
    {
        using var ns = new TestNetns();
        TunTap.CreatePersistent("kt-mq", TapFlags.VnetHeader | TapFlags.MultiQueue, ns: ns.Ns);
        Assert.Contains("multi_queue", ns.Exec("ip", "-d", "link", "show", "kt-mq"));
        using var q1 = ns.Ns.Run(() => TunTap.Attach("kt-mq", TapFlags.VnetHeader | TapFlags.MultiQueue, out _));
        using var q2 = ns.Ns.Run(() => TunTap.Attach("kt-mq", TapFlags.VnetHeader | TapFlags.MultiQueue, out _));
        Assert.NotEqual(q1.Fd, q2.Fd);
        // Mismatched queue mode is refused.
        var e = Assert.Throws<LibcException>(() => ns.Ns.Run(() => TunTap.Attach("kt-mq", TapFlags.VnetHeader, out _)));
        Assert.Equal(Errno.EINVAL, e.Errno);
        q1.Dispose();
        q2.Dispose();
        ns.Rtnl.LinkDel("kt-mq");
        Assert.Null(ns.Rtnl.LinkFind("kt-mq"));
    }
}
