using System.Diagnostics;
using System.Text;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;
using Kraud.Libc;

// usage: Kraud.Bench.Net [--rounds N] [wg] [veth] [vpc] [many] [unchanged]   (default: wg, veth, vpc; 1 round). Each row
// reports the median of the rounds of each side and every round's pair (measured side by side: the lane's timings swing
// with the machine's load). wg and vpc need the kernel's wireguard and vrf modules: run them in the kernel lane. vpc is
// many (100 Vpcs: create, unchanged after a restart, delete) and unchanged (one Vpc with 10,000 peers, its rounds on one
// device).
int rounds = 1;
var parts = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--rounds") rounds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else parts.Add(args[i]);
}
if (parts.Count == 0) parts = ["wg", "veth", "vpc"];
var rows = new List<(string Op, double Ours, double Theirs, string Peer)>();
int failures = 0;

for (int round = 0; round < rounds; round++)
{
    if (parts.Contains("veth")) rows.AddRange(VethBench.Run(500));
    if (parts.Contains("wg"))
    {
        if (!WireGuardClient.KernelAvailable())
        {
            Console.WriteLine("wg: SKIPPED: no kernel wireguard here (run this part in the kernel lane: tests/lane/run -- dotnet Kraud.Bench.Net.dll wg)");
            failures++;
            break;
        }
        rows.AddRange(WgBench.Run(1000));
        rows.AddRange(WgBench.Run(10000));
    }
    if (parts.Contains("vpc") || parts.Contains("many")) rows.AddRange(await VpcBench.ManyAsync(100));
    Console.WriteLine($"round {round + 1} of {rounds} done");
}
// Its rounds on one device (10,000 peers take long to set up under TCG), each step warmed once before them.
if (parts.Contains("vpc") || parts.Contains("unchanged")) rows.AddRange(await VpcBench.UnchangedAsync(10000, rounds));

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

Console.WriteLine();
Console.WriteLine($"{"operation",-52} {"ours ms",10} {"peer ms",10} {"ours/peer",10}  peer   (median of {rounds})");
foreach (var g in rows.GroupBy(r => r.Op))
{
    double ours = Median(g.Select(r => r.Ours)), theirs = Median(g.Select(r => r.Theirs));
    Console.WriteLine($"{g.Key,-52} {ours,10:0.0} {theirs,10:0.0} {ours / theirs,10:0.000}x  {g.First().Peer}");
}
if (rounds > 1)
{
    Console.WriteLine();
    foreach (var g in rows.GroupBy(r => r.Op))
        Console.WriteLine($"{g.Key,-52} each round, ours/peer ms: {string.Join("  ", g.Select(r => $"{r.Ours:0}/{r.Theirs:0} ({r.Ours / r.Theirs:0.000}x)"))}; median of ratios {Median(g.Select(r => r.Ours / r.Theirs)):0.000}x");
}
return failures;

/// <summary>Runs a tool from an argv array and returns the wall time in ms (process start included).</summary>
static class Tool
{
    public static double Time(params string[] argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in argv[1..]) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        sw.Stop();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', argv)} exited {p.ExitCode}: {err.Result}");
        return sw.Elapsed.TotalMilliseconds;
    }

    public static void Run(params string[] argv) => Time(argv);
}

static class VethBench
{
    public static IEnumerable<(string, double, double, string)> Run(int pairs)
    {
        string nsName = "kbench-" + Environment.ProcessId;
        Tool.Run("ip", "netns", "add", nsName);
        try
        {
            using var ns = NetNs.OpenNamed(nsName);
            using var rt = RtNetlink.Open(ns);

            // Warm-up: JIT and first-use costs stay out of the numbers.
            for (int i = 0; i < 10; i++) rt.LinkAdd(new VethSpec($"kw{i}", $"kx{i}") { Group = 78 });
            rt.LinkDelGroup(78);

            var sw = Stopwatch.StartNew();
            for (int i = 0; i < pairs; i++) rt.LinkAdd(new VethSpec($"ka{i}", $"kb{i}") { Group = 77 });
            double oursCreate = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            rt.LinkDelGroup(77);
            double oursDeleteGroup = sw.Elapsed.TotalMilliseconds;

            for (int i = 0; i < pairs; i++) rt.LinkAdd(new VethSpec($"ka{i}", $"kb{i}"));
            sw.Restart();
            for (int i = 0; i < pairs; i++) rt.LinkDel($"ka{i}");
            double oursDeleteEach = sw.Elapsed.TotalMilliseconds;

            string add = Path.GetTempFileName(), del = Path.GetTempFileName();
            File.WriteAllLines(add, Enumerable.Range(0, pairs).Select(i => $"link add ia{i} type veth peer name ib{i}"));
            File.WriteAllLines(del, Enumerable.Range(0, pairs).Select(i => $"link del ia{i}"));
            double ipCreate = Tool.Time("ip", "-n", nsName, "-batch", add);
            double ipDelete = Tool.Time("ip", "-n", nsName, "-batch", del);
            File.Delete(add);
            File.Delete(del);
            string batch = "ip -batch";
            return
            [
                ($"create {pairs} veth pairs", oursCreate, ipCreate, batch),
                ($"delete {pairs} veth pairs (one by one)", oursDeleteEach, ipDelete, batch),
                ($"delete {pairs} veth pairs (ours: link group)", oursDeleteGroup, ipDelete, batch),
            ];
        }
        finally
        {
            Tool.Run("ip", "netns", "del", nsName);
        }
    }
}

static class WgBench
{
    public static IEnumerable<(string, double, double, string)> Run(int peers)
    {
        var rt = RtNetlink.Open();
        using var wg = KernelWireGuard.Open();
        var priv = WgKey.GeneratePrivate();
        // Random 32-byte strings are valid Curve25519 public keys; one allowed IP each.
        var keys = Enumerable.Range(0, peers).Select(_ => new WgKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))).ToList();
        var spec = Spec(keys, i => $"fd42:{i >> 16:x}:{i & 0xffff:x}::1/128");
        // 1% of the peers move to a new allowed IP.
        var changed = Spec(keys, i => i % 100 == 0 ? $"fd43:{i >> 16:x}:{i & 0xffff:x}::1/128" : $"fd42:{i >> 16:x}:{i & 0xffff:x}::1/128");

        string ours = "kbw0", theirs = "kbw1";
        foreach (var n in new[] { ours, theirs }) { if (rt.LinkFind(n) is not null) rt.LinkDel(n); rt.LinkAdd(new WireGuardSpec(n)); }
        try
        {
            // Warm-up on the same device (JIT, first genl use), then start from an empty device again.
            var warm = Spec(keys.Take(10).ToList(), i => $"fd44::{i:x}/128");
            wg.ConfigureDevice(ours, VpcReconciler.Diff(warm, priv, wg.GetDevice(ours))!);
            VpcReconciler.Diff(warm with { Peers = [.. warm.Peers.Take(5)] }, priv, wg.GetDevice(ours));
            wg.ConfigureDevice(ours, new WgConfig { ReplacePeers = true });

            var sw = Stopwatch.StartNew();
            wg.ConfigureDevice(ours, VpcReconciler.Diff(spec, priv, wg.GetDevice(ours))!);
            double oursSet = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var diff = VpcReconciler.Diff(changed, priv, wg.GetDevice(ours))!;
            wg.ConfigureDevice(ours, diff);
            double oursSync = sw.Elapsed.TotalMilliseconds;
            if (diff.Peers.Count != (peers + 99) / 100) throw new InvalidOperationException($"diff has {diff.Peers.Count} peers");
            if (wg.GetDevice(ours).Peers.Count != peers) throw new InvalidOperationException("peer count differs after sync");

            string f1 = Conf(priv, spec), f2 = Conf(priv, changed);
            double wgSet = Tool.Time("wg", "setconf", theirs, f1);
            double wgSync = Tool.Time("wg", "syncconf", theirs, f2);
            File.Delete(f1);
            File.Delete(f2);
            return
            [
                ($"configure {peers} peers", oursSet, wgSet, "wg setconf"),
                ($"change 1% of {peers} peers (read, diff, set)", oursSync, wgSync, "wg syncconf"),
            ];
        }
        finally
        {
            rt.LinkDel(ours);
            rt.LinkDel(theirs);
            rt.Dispose();
        }
    }

    private static VpcSpec Spec(List<WgKey> keys, Func<int, string> allowed) => new()
    {
        Interface = "kbw0", ListenPort = 0,
        Peers = keys.Select((k, i) => new VpcPeerSpec { PublicKey = k.ToString(), AllowedIps = [allowed(i)] }).ToList(),
    };

    private static string Conf(WgKey priv, VpcSpec spec)
    {
        var sb = new StringBuilder($"[Interface]\nPrivateKey = {priv}\n");
        foreach (var p in spec.Peers) sb.Append($"\n[Peer]\nPublicKey = {p.PublicKey}\nAllowedIPs = {p.AllowedIps[0]}\n");
        string path = Path.GetTempFileName();
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
