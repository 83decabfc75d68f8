using System.Diagnostics;
using System.Text;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Libc;
using Kraud.Net.WireGuard;

/// <summary>
/// The Vpc kind (VRF + kernel WireGuard): many Vpcs on one host, and an unchanged Vpc with many peers. In a namespace of
/// its own; needs the vrf and wireguard modules (the kernel lane).
/// </summary>
static class VpcBench
{
    /// <summary>
    /// Creates <paramref name="count"/> Vpcs, reconciles them all again with a fresh reconciler (an agent restart: no
    /// netlink write may happen, which `ip monitor` in the namespace checks), deletes them; beside `ip -batch` making,
    /// reading and deleting the same links (VRF, WireGuard, enslaved), addresses and routes.
    /// </summary>
    public static async Task<List<(string, double, double, string)>> ManyAsync(int count)
    {
        using var ns = BenchNs.Create("kbv");
        string state = Directory.CreateTempSubdirectory("kraud-bench-vpc").FullName;
        try
        {
            var specs = Enumerable.Range(0, count).Select(i => new VpcSpec
            {
                Interface = $"kbv{i}", ListenPort = 52000 + i, Addresses = [$"fd42:{i:x}::1/64"],
                Routes = [new VpcRouteSpec { Destination = $"fd43:{i:x}::/48" }],
                Peers = [new VpcPeerSpec { PublicKey = WgKey.GeneratePrivate().PublicKey().ToString(), AllowedIps = [$"fd42:{i:x}::2/128"] }],
            }).ToList();
            // Warm-up (JIT, genl family, first VRF and its rules) with one Vpc, then gone again.
            var warm = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            await warm.ReconcileAsync(specs[0] with { Interface = "kbvw" }, state, "vpc-warm");
            await warm.DeleteOwnedAsync("vpc-warm", "kbvw");

            var rec = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < count; i++) await rec.ReconcileAsync(specs[i], state, $"vpc-{i}");
            double create = sw.Elapsed.TotalMilliseconds;

            var restarted = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            double again;
            using (var monitor = new IpMonitor(ns))
            {
                monitor.Sync();
                sw.Restart();
                for (int i = 0; i < count; i++) await restarted.ReconcileAsync(specs[i], state, $"vpc-{i}");
                again = sw.Elapsed.TotalMilliseconds;
                var changes = monitor.Sync();
                if (changes.Count > 0) throw new InvalidOperationException($"the second reconcile changed something: {string.Join(" | ", changes.Take(5))}");
            }
            foreach (var (spec, i) in specs.Select((s, i) => (s, i)))
            {
                using var wg = KernelWireGuard.Open(ns.Handle);
                if (VpcReconciler.Diff(spec, VpcKeyStore.LoadOrCreate(state, spec.Interface), wg.GetDevice(spec.Interface)) is not null)
                    throw new InvalidOperationException($"vpc-{i}'s device differs from its spec after the second reconcile");
            }

            sw.Restart();
            for (int i = 0; i < count; i++) await restarted.DeleteOwnedAsync($"vpc-{i}", specs[i].Interface);
            double delete = sw.Elapsed.TotalMilliseconds;

            var make = new StringBuilder();
            var read = "link show\naddress show\nroute show table all\n"; // with -6: the Vpcs' addresses and routes
            var remove = new StringBuilder();
            for (int i = 0; i < count; i++)
            {
                make.Append($"link add kbp{i}v type vrf table {5000 + i}\nlink set kbp{i}v alias kraud:vpc:p{i} up\n")
                    .Append($"link add kbp{i} type wireguard\nlink set kbp{i} alias kraud:vpc:p{i} master kbp{i}v mtu 1420 up\n")
                    .Append($"address add fd42:{i:x}::1/64 dev kbp{i} nodad\nroute add fd43:{i:x}::/48 dev kbp{i} table {5000 + i} proto 75\n");
                remove.Append($"link del kbp{i}\nlink del kbp{i}v\n");
            }
            double ipMake = ns.IpBatch(make.ToString()), ipRead = ns.IpBatch(read, "-6"), ipDelete = ns.IpBatch(remove.ToString());
            return
            [
                ($"create {count} Vpcs (VRF, WireGuard, key, peer, address, route)", create, ipMake, "ip -batch (links, addresses, routes)"),
                ($"reconcile {count} unchanged Vpcs after a restart (no write)", again, ipRead, "ip -batch (read links, addresses, routes)"),
                ($"delete {count} Vpcs", delete, ipDelete, "ip -batch (link del)"),
            ];
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }

    /// <summary>
    /// Reconciles a Vpc with <paramref name="peers"/> peers whose spec did not change: once on the same reconciler (the
    /// digest of what it applied and the interface's index tell it nothing changed) and once on a fresh one (after an
    /// agent restart: the full device read and diff); beside `wg syncconf` with the same file.
    /// </summary>
    public static async Task<List<(string, double, double, string)>> UnchangedAsync(int peers)
    {
        using var ns = BenchNs.Create("kbu");
        string state = Directory.CreateTempSubdirectory("kraud-bench-vpc").FullName;
        try
        {
            var spec = new VpcSpec
            {
                Interface = "kbu0", ListenPort = 53000, Addresses = ["fd42:99::1/64"],
                Peers = Enumerable.Range(0, peers).Select(i => new VpcPeerSpec
                {
                    PublicKey = new WgKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToString(),
                    AllowedIps = [$"fd42:{i >> 16:x}:{i & 0xffff:x}::1/128"],
                }).ToList(),
            };
            var rec = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            await rec.ReconcileAsync(spec, state, "vpc-u");
            await rec.ReconcileAsync(spec, state, "vpc-u"); // warm-up of the unchanged path
            var sw = Stopwatch.StartNew();
            await rec.ReconcileAsync(spec, state, "vpc-u");
            double unchanged = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            await new VpcReconciler(ns.Handle, WgBackendKind.Kernel).ReconcileAsync(spec, state, "vpc-u");
            double afterRestart = sw.Elapsed.TotalMilliseconds;
            // Where an unchanged reconcile's time goes: the spec's own checks and the digest are O(peers) too.
            sw.Restart();
            spec.Validate();
            double validate = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(spec, VpcJsonContext.Default.VpcSpec);
            Console.WriteLine($"unchanged {peers} peers: validate {validate:0.0} ms, serialize for the digest {sw.Elapsed.TotalMilliseconds:0.0} ms");

            var conf = new StringBuilder($"[Interface]\nPrivateKey = {WgKey.GeneratePrivate()}\nListenPort = 53001\n");
            foreach (var p in spec.Peers) conf.Append($"\n[Peer]\nPublicKey = {p.PublicKey}\nAllowedIPs = {p.AllowedIps[0]}\n");
            string file = Path.GetTempFileName();
            File.WriteAllText(file, conf.ToString());
            ns.Run("ip", "link", "add", "kbu1", "type", "wireguard");
            ns.Run("wg", "setconf", "kbu1", file);
            double sync = ns.Time("wg", "syncconf", "kbu1", file);
            File.Delete(file);
            await rec.DeleteOwnedAsync("vpc-u", "kbu0");
            return
            [
                ($"reconcile an unchanged Vpc with {peers} peers", unchanged, sync, "wg syncconf (same file)"),
                ($"same, first reconcile after a restart (full read)", afterRestart, sync, "wg syncconf (same file)"),
            ];
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }
}

/// <summary>A named namespace for one bench part (`ip netns add`), with tools run inside it.</summary>
sealed class BenchNs : IDisposable
{
    private BenchNs(string name)
    {
        Name = name;
        Handle = NetNs.OpenNamed(name);
    }

    public string Name { get; }
    public NetNs Handle { get; }

    public static BenchNs Create(string prefix)
    {
        string name = $"{prefix}-{Environment.ProcessId}";
        Tool.Run("ip", "netns", "add", name);
        return new BenchNs(name);
    }

    public void Run(params string[] argv) => Tool.Run(["ip", "netns", "exec", Name, .. argv]);
    public double Time(params string[] argv) => Tool.Time(["ip", "netns", "exec", Name, .. argv]);

    /// <summary>`ip -n NS -batch FILE` with <paramref name="commands"/>; the wall time in ms.</summary>
    public double IpBatch(string commands, string? family = null)
    {
        string file = Path.GetTempFileName();
        File.WriteAllText(file, commands);
        try { return family is null ? Tool.Time("ip", "-n", Name, "-batch", file) : Tool.Time("ip", family, "-n", Name, "-batch", file); }
        finally { File.Delete(file); }
    }

    public void Dispose()
    {
        Handle.Dispose();
        Tool.Run("ip", "netns", "del", Name);
    }
}

/// <summary>
/// `ip -o monitor link address route` in a namespace: what changed there. <see cref="Sync"/> adds and removes a marker
/// link and waits until the monitor has printed both, so every change before it has been read.
/// </summary>
sealed class IpMonitor : IDisposable
{
    private readonly BenchNs _ns;
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private int _marks;

    public IpMonitor(BenchNs ns)
    {
        _ns = ns;
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-n", ns.Name, "-o", "monitor", "link", "address", "route"]) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) _lines.Add(e.Data); };
        _process.BeginOutputReadLine();
    }

    /// <summary>The changes seen since the last call (the markers left out).</summary>
    public List<string> Sync()
    {
        string mark = $"kbmark{_marks++}";
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        // Until the monitor has subscribed, the marker goes unseen: add it again until it is seen.
        while (true)
        {
            _ns.Run("ip", "link", "add", mark, "type", "dummy");
            _ns.Run("ip", "link", "del", mark);
            var seenUntil = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            while (DateTime.UtcNow < seenUntil)
            {
                lock (_lines)
                {
                    int last = _lines.FindLastIndex(l => l.StartsWith("Deleted", StringComparison.Ordinal) && l.Contains(mark, StringComparison.Ordinal));
                    if (last >= 0)
                    {
                        var changes = _lines.Take(last + 1).Where(l => !l.Contains("kbmark", StringComparison.Ordinal)).ToList();
                        _lines.RemoveRange(0, last + 1);
                        return changes;
                    }
                }
                Thread.Sleep(10);
            }
            if (DateTime.UtcNow > until) throw new TimeoutException("ip monitor saw no marker");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
