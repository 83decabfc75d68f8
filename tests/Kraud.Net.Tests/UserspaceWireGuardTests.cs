using System.Net;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Net.Tests;

/// <summary>The UAPI backend against a real wireguard-go in a test namespace.</summary>
public class UserspaceWireGuardTests
{
    [Fact]
    public void ConfigureReadBackDiffAndRemove()
    {
        using var ns = new TestNetns();
        string name = "kwu" + ns.Name[^6..];
        using var wg = new UserspaceWireGuard(ns.Ns);
        wg.CreateInterface(name);
        try
        {
            Assert.Equal("tun", ns.Rtnl.LinkGet(name).Kind);
            var priv = WgKey.GeneratePrivate();
            var p1 = WgKey.GeneratePrivate().PublicKey();
            var p2 = WgKey.GeneratePrivate().PublicKey();
            wg.ConfigureDevice(name, new WgConfig
            {
                PrivateKey = priv, ListenPort = 51999,
                Peers =
                [
                    new WgPeerConfig(p1) { Endpoint = IPEndPoint.Parse("[fd00::2]:51820"), PersistentKeepaliveSeconds = 25, AllowedIps = [IpPrefix.Parse("fd42::2/128")] },
                    new WgPeerConfig(p2) { AllowedIps = [IpPrefix.Parse("fd42::3/128"), IpPrefix.Parse("10.1.0.0/16")] },
                ],
            });
            var dev = wg.GetDevice(name);
            Assert.Equal(priv, dev.PrivateKey);
            Assert.Equal(priv.PublicKey(), dev.PublicKey);
            Assert.Equal(51999, dev.ListenPort);
            Assert.Equal(2, dev.Peers.Count);
            var r1 = Assert.Single(dev.Peers, p => p.PublicKey == p1);
            Assert.Equal((IPEndPoint.Parse("[fd00::2]:51820"), 25), (r1.Endpoint, r1.PersistentKeepaliveSeconds));
            Assert.Equal(["fd42::2/128"], r1.AllowedIps.Select(a => a.ToString()));
            Assert.Equal(2, dev.Peers.Single(p => p.PublicKey == p2).AllowedIps.Count);

            // wg(8) reads the same device.
            Assert.Contains(p1.ToString(), ns.Exec("wg", "show", name, "peers"));

            wg.ConfigureDevice(name, new WgConfig
            {
                Peers =
                [
                    new WgPeerConfig(p1) { UpdateOnly = true, ReplaceAllowedIps = true, AllowedIps = [IpPrefix.Parse("fd42::9/128")] },
                    new WgPeerConfig(p2) { Remove = true },
                ],
            });
            dev = wg.GetDevice(name);
            var only = Assert.Single(dev.Peers);
            Assert.Equal(p1, only.PublicKey);
            Assert.Equal(["fd42::9/128"], only.AllowedIps.Select(a => a.ToString()));
        }
        finally
        {
            ns.Rtnl.LinkDel(name);
        }
    }

    [Fact]
    public void TheDaemonGetsNoneOfTheAgentsSecrets()
    {
        // The agent's environment carries its configuration, NATS credentials included (KRAUD_NATS__PASSWORD).
        string secret = "pw-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("KRAUD_NATS__PASSWORD", secret);
        Environment.SetEnvironmentVariable("KRAUD_NATS__TOKEN", secret);
        try
        {
            using var ns = new TestNetns();
            string name = "kwe" + ns.Name[^6..];
            using var wg = new UserspaceWireGuard(ns.Ns);
            wg.CreateInterface(name);
            try
            {
                int pid = WireGuardGoPid(name);
                var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
                Assert.Contains(environ, v => v.StartsWith("PATH=", StringComparison.Ordinal)); // we did read its environment
                Assert.DoesNotContain(environ, v => v.StartsWith("KRAUD_", StringComparison.Ordinal));
                Assert.DoesNotContain(environ, v => v.Contains(secret, StringComparison.Ordinal));
            }
            finally
            {
                ns.Rtnl.LinkDel(name);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("KRAUD_NATS__PASSWORD", null);
            Environment.SetEnvironmentVariable("KRAUD_NATS__TOKEN", null);
        }
    }

    /// <summary>The detached wireguard-go daemon serving <paramref name="name"/> (argv: its path, then the name).</summary>
    private static int WireGuardGoPid(string name)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string[] argv;
            try
            {
                argv = File.ReadAllText($"{dir}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (IOException)
            {
                continue;
            }
            if (argv.Length == 2 && argv[0].EndsWith("wireguard-go", StringComparison.Ordinal) && argv[1] == name) return pid;
        }
        throw new InvalidOperationException($"no wireguard-go process for {name}");
    }

    [Fact]
    public void MissingDeviceNamesTheSocket()
    {
        using var wg = new UserspaceWireGuard();
        var e = Assert.Throws<WireGuardUapiException>(() => wg.GetDevice("kw-none"));
        Assert.Contains("/var/run/wireguard/kw-none.sock", e.Message);
        Assert.Contains("kw-none", e.Operation);
    }
}
