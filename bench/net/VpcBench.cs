using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Kraud.Agent.Kinds;
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
    /// netlink write may happen, which `ip monitor` in the namespace checks) and once more on that reconciler, deletes them; beside `ip -batch` making,
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
            // As the work engine hands them over: envelopes whose spec is JSON.
            var envelopes = specs.Select((s, i) => Envelope($"vpc-{i}", s)).ToList();
            var context = Context(state);
            // Warm-up (JIT, genl family, first VRF and its rules) with one Vpc, then gone again.
            using (var warm = new VpcReconciler(ns.Handle, WgBackendKind.Kernel))
            {
                await warm.ReconcileAsync(Envelope("vpc-warm", specs[0] with { Interface = "kbvw" }), context, default);
                await warm.DeleteOwnedAsync("vpc-warm", "kbvw");
            }

            using var rec = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < count; i++) await rec.ReconcileAsync(envelopes[i], context, default);
            double create = sw.Elapsed.TotalMilliseconds;

            using var restarted = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            double again, sameReconciler;
            using (var monitor = new IpMonitor(ns))
            {
                monitor.Sync();
                sw.Restart();
                for (int i = 0; i < count; i++) await restarted.ReconcileAsync(envelopes[i], context, default);
                again = sw.Elapsed.TotalMilliseconds;
                // The same reconciler once more: the specs prepared and the sockets open, only the reads and compares.
                sw.Restart();
                for (int i = 0; i < count; i++) await restarted.ReconcileAsync(envelopes[i], context, default);
                sameReconciler = sw.Elapsed.TotalMilliseconds;
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
                ($"same, {count} unchanged Vpcs again (same reconciler)", sameReconciler, ipRead, "ip -batch (read links, addresses, routes)"),
                ($"delete {count} Vpcs", delete, ipDelete, "ip -batch (link del)"),
            ];
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }

    private static ResourceEnvelope Envelope(string id, VpcSpec spec) =>
        new(ResourceEnvelope.V1, ResourceKinds.Vpc, id, 1, false, JsonSerializer.SerializeToElement(spec, VpcJsonContext.Default.VpcSpec));

    private static ReconcileContext Context(string state) => new("bench", state, 1, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    /// <summary>
    /// Reconciles a Vpc with <paramref name="peers"/> peers whose spec did not change: once on the same reconciler (the
    /// spec prepared before; the device read and compared as its dump arrives) and once on a fresh one (after an agent
    /// restart: the spec bound, checked and prepared too); beside `wg syncconf` with the same file. Then a peer's allowed
    /// IP is changed with `wg set` and the next reconcile must repair it. Each round measures, in turn: our reconcile, the
    /// kernel's dump as we read it (no compare), the compare, `wg show IF dump` (the same dump read by wg(8)) and
    /// `wg syncconf`; every one of them ran once before the first round.
    /// </summary>
    public static async Task<List<(string, double, double, string)>> UnchangedAsync(int peers, int rounds)
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
            // As the work engine hands it over: an envelope whose spec is JSON (bound, checked and prepared once per
            // distinct spec; the device is read and compared every time).
            var envelope = Envelope("vpc-u", spec);
            var context = Context(state);
            using var rec = new VpcReconciler(ns.Handle, WgBackendKind.Kernel);
            await rec.ReconcileAsync(envelope, context, default);
            var key = VpcKeyStore.LoadOrCreate(state, spec.Interface);
            using var wg = KernelWireGuard.Open(ns.Handle);
            var wanted = VpcReconciler.Wanted(envelope.ReadSpec(VpcJsonContext.Default.VpcSpec));
            var otherKey = WgKey.GeneratePrivate();

            var conf = new StringBuilder($"[Interface]\nPrivateKey = {WgKey.GeneratePrivate()}\nListenPort = 53001\n");
            foreach (var p in spec.Peers) conf.Append($"\n[Peer]\nPublicKey = {p.PublicKey}\nAllowedIPs = {p.AllowedIps[0]}\n");
            string file = Path.GetTempFileName();
            File.WriteAllText(file, conf.ToString());
            ns.Run("ip", "link", "add", "kbu1", "type", "wireguard");
            ns.Run("wg", "setconf", "kbu1", file);

            // Each measured step once before the rounds, the same for both sides: JIT, the wg binary and the file in the
            // page cache, the kernel's allocations for a dump of this size.
            int collections = 0; // garbage collections during our reconciles: none expected (nothing per peer is allocated)
            async Task<double> Ours()
            {
                int before = GC.CollectionCount(0);
                var sw = Stopwatch.StartNew();
                var observed = (await rec.ReconcileAsync(envelope, context, default))!;
                double ms = sw.Elapsed.TotalMilliseconds;
                collections += GC.CollectionCount(0) - before;
                if ((int)observed["peerCount"]! != peers) throw new InvalidOperationException($"observed {observed["peerCount"]} peers, not {peers}");
                return ms;
            }
            // Another private key: the compare differs at the first message and only walks the rest: the kernel's dump
            // and its receipt, which every reconcile needs (out-of-band changes are repaired at the next one).
            double OurDump()
            {
                var sw = Stopwatch.StartNew();
                if (wg.Compare(spec.Interface, otherKey, wanted).Matches) throw new InvalidOperationException("matched another key");
                return sw.Elapsed.TotalMilliseconds;
            }
            double Compare()
            {
                var sw = Stopwatch.StartNew();
                if (!wg.Compare(spec.Interface, key, wanted).Matches) throw new InvalidOperationException("the device differs from its spec");
                return sw.Elapsed.TotalMilliseconds;
            }
            double WgShowDump() => ns.Time("wg", "show", "kbu0", "dump");
            double SyncConf() => ns.Time("wg", "syncconf", "kbu1", file);
            double Exec() => ns.Time("true"); // what `ip netns exec` and a process start add to each wg(8) row
            await Ours();
            OurDump();
            Compare();
            WgShowDump();
            SyncConf();
            Exec();

            var rows = new List<(string, double, double, string)>();
            collections = 0;
            for (int round = 0; round < rounds; round++)
            {
                double unchanged = await Ours(), dump = OurDump(), compare = Compare(), show = WgShowDump(), sync = SyncConf(), exec = Exec();
                var sw = Stopwatch.StartNew();
                using (var fresh = new VpcReconciler(ns.Handle, WgBackendKind.Kernel)) await fresh.ReconcileAsync(envelope, context, default);
                double afterRestart = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                VpcReconciler.Wanted(envelope.ReadSpec(VpcJsonContext.Default.VpcSpec)); // what a restart adds: the spec bound, checked, prepared
                double prepare = sw.Elapsed.TotalMilliseconds;
                Console.WriteLine($"unchanged {peers} peers, round {round + 1}: reconcile {unchanged:0.0} ms = the kernel's dump {dump:0.0} + compare {compare - dump:0.0} + the rest {unchanged - compare:0.0}; wg show dump {show:0.0}; wg syncconf {sync:0.0} (of which ip netns exec and a process start {exec:0.0}); after a restart {afterRestart:0.0} (the spec bound, checked and prepared alone: {prepare:0.0})");
                rows.Add(($"reconcile an unchanged Vpc with {peers} peers", unchanged, sync, "wg syncconf (same file)"));
                rows.Add(($"  the kernel's dump alone (ours, no compare)", dump, sync, "wg syncconf (same file)"));
                rows.Add(($"  the same dump read by wg(8)", dump, show, "wg show IF dump"));
                rows.Add(($"same, first reconcile after a restart", afterRestart, sync, "wg syncconf (same file)"));
            }
            File.Delete(file);
            Console.WriteLine($"unchanged {peers} peers: {collections} garbage collection(s) during our {rounds} measured reconciles");

            // A peer's allowed IP changed behind the agent's back: the next unchanged reconcile repairs it.
            ns.Run("wg", "set", spec.Interface, "peer", spec.Peers[peers / 2].PublicKey, "allowed-ips", "fd99::1/128");
            if (wg.Compare(spec.Interface, key, wanted).Matches) throw new InvalidOperationException("the out-of-band change went unseen");
            await rec.ReconcileAsync(envelope, context, default);
            if (!wg.Compare(spec.Interface, key, wanted).Matches) throw new InvalidOperationException("the out-of-band change was not repaired");
            await rec.DeleteOwnedAsync("vpc-u", "kbu0");
            return rows;
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
