using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>
/// Issue 17's acceptance: two tenants on the same two hosts, with identical VPC prefixes, identical overlay net4 and
/// identical pod addresses, each in its own VRF. Kernel lane only, for both WireGuard backends: this machine's kernel
/// has no vrf module (`ip link add x type vrf` fails), nor wireguard or ip6_tunnel; the lane's Debian kernel has all three,
/// and wireguard-go runs there from the shared root.
/// Run in the ZFS tests' collection, never beside them: with four hosts' WireGuard, tunnels and captures busy in the
/// lane's two emulated CPUs, the NFS export tests saw a dataset stay busy after its unexport and unmount.
/// </summary>
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("vrf", "kernel")]
public partial class TenantIsolationLaneTests
{
    [Fact]
    public Task TwoTenantsWithTheSameAddressesOnKernelWireGuard() => RunAsync(WgBackendKind.Kernel);

    [Fact]
    public Task TwoTenantsWithTheSameAddressesOnWireguardGo() => RunAsync(WgBackendKind.Userspace);

    private static async Task RunAsync(WgBackendKind kind)
    {
        using var hosts = new TwoHosts();
        foreach (var h in new[] { hosts.A, hosts.B }) h.Exec("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"); // per device, as the agent sets it
        using var one = new TenantNetwork(hosts, 1, kind);
        // Tenant 2 has one more pod address on B, which tenant 1 must not reach.
        using var two = new TenantNetwork(hosts, 2, kind, ["fd42:1:b::99", "10.20.0.99"]);
        await one.UpAsync();
        await two.UpAsync();

        foreach (var t in new[] { one, two })
            foreach (var (pod, peer6, peer4) in new[] { (t.PodA, "fd42:1:b::17", "10.20.0.18"), (t.PodB, "fd42:1:a::17", "10.20.0.17") })
            {
                await TwoHosts.PingAsync(pod, peer6, TimeSpan.FromSeconds(60));
                await TwoHosts.PingAsync(pod, peer4, TimeSpan.FromSeconds(60));
            }
        await TwoHosts.PingAsync(two.PodA, "fd42:1:b::99", TimeSpan.FromSeconds(30));
        await TwoHosts.PingAsync(two.PodA, "10.20.0.99", TimeSpan.FromSeconds(30));

        // Nothing of a tenant in the main table; the hosts themselves reach no pod.
        foreach (var h in new[] { hosts.A, hosts.B })
        {
            Assert.DoesNotContain(h.Rtnl.RouteList(2).Concat(h.Rtnl.RouteList(10)), r => r.Protocol == RouteProtocols.Kraud);
            Assert.NotEqual(0, h.TryExec("ping", "-c", "1", "-W", "1", "10.20.0.17").Code);
            Assert.NotEqual(0, h.TryExec("ping", "-c", "1", "-W", "1", "fd42:1:a::17").Code);
        }

        // Tenant 1's traffic, while both tenants' interfaces are captured: tenant 2's see none of it, tenant 1's do.
        var (twoA, twoB) = two.Interfaces();
        var (oneA, oneB) = one.Interfaces();
        using (var capTwoA = new PacketCapture(hosts.A, twoA))
        using (var capTwoB = new PacketCapture(hosts.B, twoB))
        using (var capOneB = new PacketCapture(hosts.B, oneB))
        {
            await Task.WhenAll(capTwoA.ReadyAsync(), capTwoB.ReadyAsync(), capOneB.ReadyAsync());
            await TwoHosts.PingAsync(one.PodA, "fd42:1:b::17", TimeSpan.FromSeconds(10));
            await TwoHosts.PingAsync(one.PodA, "10.20.0.18", TimeSpan.FromSeconds(10));
            // Pings that must fail: tenant 2's extra pod address, from tenant 1's pod.
            Assert.NotEqual(0, one.PodA.TryExec("ping", "-c", "2", "-W", "1", "fd42:1:b::99").Code);
            Assert.NotEqual(0, one.PodA.TryExec("ping", "-c", "2", "-W", "1", "10.20.0.99").Code);
            var seenTwo = capTwoA.Stop().Concat(capTwoB.Stop()).ToList();
            var seenOne = capOneB.Stop();
            Assert.All(seenTwo, kv => Assert.True(kv.Value == 0, $"tenant 2's {kv.Key} saw {kv.Value} packet(s) of tenant 1's traffic"));
            Assert.True(seenOne[one.IfB] > 0 && seenOne[one.PodSideB] > 0, "the capture saw tenant 1's own traffic: " + string.Join(", ", seenOne));
        }

        // Delete tenant 1 while tenant 2's pods ping each other every 10 ms over the overlay: not one reply missing.
        var rules4 = hosts.A.Exec("ip", "-4", "rule", "show");
        var rules6 = hosts.A.Exec("ip", "-6", "rule", "show");
        uint tableOne = VpcDomain.Find(hosts.A.Rtnl, one.Id)!.VrfTable!.Value;
        using (var ping = new FastPing(two.PodA, "10.20.0.18"))
        {
            await ping.WaitForRepliesAsync(20);
            await one.DeleteAsync();
            int at = ping.LastSeq;
            await ping.WaitForRepliesAsync(at + 50);
            var (sent, missing) = ping.Stop();
            Assert.True(missing.Count == 0, $"{missing.Count} of {sent} pings lost during the delete: seq {string.Join(",", missing.Take(20))}");
        }
        foreach (var h in new[] { hosts.A, hosts.B })
        {
            Assert.DoesNotContain(h.Rtnl.LinkList(), l => l.Alias == VpcDomain.OwnerAlias(one.Id) || l.Name == VpcDomain.VrfName(one.Id)
                || one.Tunnels.Contains(l.Name) || l.Name == one.IfA || l.Name == one.IfB);
            Assert.Empty(h.Rtnl.RouteList(2, tableOne));
            Assert.Empty(h.Rtnl.RouteList(10, tableOne));
        }
        Assert.Equal(rules4, hosts.A.Exec("ip", "-4", "rule", "show"));
        Assert.Equal(rules6, hosts.A.Exec("ip", "-6", "rule", "show"));
        Assert.DoesNotContain(tableOne.ToString(System.Globalization.CultureInfo.InvariantCulture), rules4 + rules6);
        await TwoHosts.PingAsync(two.PodB, "fd42:1:a::17", TimeSpan.FromSeconds(10));
        await two.DeleteAsync();
    }

    /// <summary>`ping -i 0.01` from a pod; replies are read as they come, by sequence number.</summary>
    private sealed partial class FastPing : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentDictionary<int, bool> _replies = new();
        private readonly ConcurrentQueue<string> _other = new();

        public FastPing(TestNetns from, string address)
        {
            var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["netns", "exec", from.Name, "ping", "-n", "-i", "0.01", address]) psi.ArgumentList.Add(a);
            _process = Process.Start(psi)!;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (Seq().Match(e.Data) is { Success: true } m) _replies[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] = true;
                else _other.Enqueue(e.Data);
            };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _other.Enqueue(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public int LastSeq => _replies.IsEmpty ? 0 : _replies.Keys.Max();

        public Task WaitForRepliesAsync(int seq) =>
            Deadline.WaitUntilAsync(() => LastSeq >= seq, TimeSpan.FromSeconds(60), $"ping reply {seq} ({string.Join(" | ", _other.Take(5))})");

        /// <summary>Stops it (SIGINT); the number of replies and the sequence numbers up to the last reply that had none.</summary>
        public (int Replies, List<int> Missing) Stop()
        {
            Cmd.Run("kill", "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _process.WaitForExit(30_000);
            int last = LastSeq;
            return (_replies.Count, Enumerable.Range(1, last).Where(s => !_replies.ContainsKey(s)).ToList());
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }

        [GeneratedRegex(@"icmp_seq=(\d+) ")]
        private static partial Regex Seq();
    }
}
