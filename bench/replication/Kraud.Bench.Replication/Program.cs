using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Commands;
using Kraud.Zfs;
using Kraud.Zfs.Send;

// Kernel-lane benchmark (bench/replication/run): a full (1 GiB, incompressible) and an incremental (100 MiB)
// transfer through our replication transport (zfs send -> TLS 1.3 over loopback -> zfs receive -s), beside the
// limit `zfs send | zfs receive` (a shell pipe: the peer is the pipe itself), syncoid local to local and the pipe
// through socat's TLS 1.3 (OpenSSL alone), same pools, same run; then a pass with nothing new (each one's fixed
// cost). Prints a table with the ratios.
int fullMiB = Arg("--full-mib", 1024), incrMiB = Arg("--incremental-mib", 100);
if (args.Contains("--host-transport"))
{
    string certs = Directory.CreateTempSubdirectory("kraud-bench-host").FullName;
    try
    {
        MakeCertificates(certs);
        await Kraud.Bench.Replication.Split.HostTransportAsync(Arg("--split-mib", 1024), certs, Tls);
    }
    finally { Directory.Delete(certs, true); }
    return;
}
if (args.Contains("--split"))
{
    if (!File.Exists("/dev/zfs")) await new ArgvRunner().RunCheckedAsync(["/sbin/modprobe", "zfs"]);
    File.WriteAllText("/sys/module/zfs/parameters/zfs_arc_max", (768L << 20).ToString(CultureInfo.InvariantCulture));
    string certs = Directory.CreateTempSubdirectory("kraud-bench-split").FullName;
    MakeCertificates(certs);
    Environment.SetEnvironmentVariable("SPLIT_CERTS", certs);
    await Kraud.Bench.Replication.Split.RunAsync(Arg("--split-mib", 256), certs, Tls);
    return;
}
var run = new ArgvRunner(args.Contains("--trace") ? new Kraud.Bench.Replication.TraceLogger() : null) { DefaultTimeout = TimeSpan.FromHours(1) };
var cli = new ZfsCli(run);
var zfs = new ZfsApi(cli);
if (!File.Exists("/dev/zfs")) await run.RunCheckedAsync(["/sbin/modprobe", "zfs"]);
// The vdevs live in the guest's RAM (tmpfs overlay): keep the ARC from competing with them.
File.WriteAllText("/sys/module/zfs/parameters/zfs_arc_max", (768L << 20).ToString(CultureInfo.InvariantCulture));

string tag = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
string src = "kbsrc" + tag;
string dir = Directory.CreateTempSubdirectory("kraud-bench-repl").FullName;
var pools = new List<(string Pool, string File)>();
// The vdevs are files in the guest's tmpfs overlay, which holds half the guest's RAM: each copy gets a pool of its
// own, destroyed (and its file deleted) once measured, so the guest holds the source and one copy at a time.
async Task<string> PoolAsync(string name, long gib)
{
    string vdev = $"/var/tmp/{name}.img";
    using (var f = new FileStream(vdev, FileMode.CreateNew)) f.SetLength(gib << 30);
    await run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", "-O", "compression=off", "-O", "mountpoint=/var/tmp/" + name, name, vdev]);
    pools.Add((name, vdev));
    return name;
}
async Task DropPoolAsync(string name)
{
    var (pool, file) = pools.Single(p => p.Pool == name);
    await run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", pool]);
    File.Delete(file);
    pools.Remove((pool, file));
}
// (phase, method) -> bytes, seconds
var results = new Dictionary<(string Phase, string Method), (long Bytes, double Seconds)>();
try
{
    await PoolAsync(src, 2);
    string ds = VolumeDatasets.Name(src, "v1");
    zfs.EnsureParents(ds);
    zfs.CreateFilesystem(ds, null, null);
    await cli.MountAsync(ds); // libzfs_core creates without mounting
    WriteRandom($"/var/tmp/{src}/kraud/v1/full", fullMiB);
    string a = ds + "@repl-20261205T000000Z", b = ds + "@repl-20261205T010000Z", c = ds + "@repl-20261205T020000Z";
    zfs.Snapshot([a]);
    MakeCertificates(dir);
    var streams = new ZfsSendReceive(cli);
    async Task<long> Estimate(string snap, string? from) => await streams.EstimateAsync(snap, from);
    string Send(string snap, string? from) => from is null ? $"/usr/sbin/zfs send {snap}" : $"/usr/sbin/zfs send -i {from} {snap}";

    // syncoid sends every snapshot up to the newest: it goes first, its incremental's snapshot taken after its full.
    string syncoidPool = await PoolAsync("kbsy" + tag, 3);
    async Task<(long, double)> Syncoid(string snap, string? from)
    {
        var sw = Stopwatch.StartNew();
        await run.RunCheckedAsync(["/usr/sbin/syncoid", "--no-sync-snap", "--no-privilege-elevation", "--quiet", ds, $"{syncoidPool}/copy"]);
        double seconds = sw.Elapsed.TotalSeconds; // before the estimate, which is not the transfer
        return (await Estimate(snap, from), seconds);
    }
    Add("full", "syncoid", await Syncoid(a, null));
    WriteRandom($"/var/tmp/{src}/kraud/v1/incremental", incrMiB);
    zfs.Snapshot([b]);
    Add("incremental", "syncoid", await Syncoid(b, a));
    await CheckCopyAsync($"{syncoidPool}/copy", b);
    await DropPoolAsync(syncoidPool);
    // A pass with nothing new: what a pass costs besides the data (handshake, state, estimate, process starts).
    zfs.Snapshot([c]);

    // Ours: h2's receiver on loopback keeping the replica in its own pool, h1's sender. A first transfer of a small
    // volume into a throw-away pool warms this process's JIT: the agent is AOT and has nothing to warm.
    {
        string warmDs = VolumeDatasets.Name(src, "warm");
        zfs.CreateFilesystem(warmDs, null, null);
        await cli.MountAsync(warmDs);
        WriteRandom($"/var/tmp/{src}/kraud/warm/data", 4);
        zfs.Snapshot([warmDs + "@repl-20261205T000000Z"]);
        zfs.Snapshot([warmDs + "@repl-20261205T010000Z"]);
        string warmPool = await PoolAsync("kbwa" + tag, 1);
        await using var warm = new Kraud.Bench.Replication.LoopbackTransport(zfs, streams, warmPool, host => Tls(dir, host));
        foreach (var snap in new[] { "repl-20261205T000000Z", "repl-20261205T010000Z" })
            if ((await warm.Sender.SendAsync("v1", warmDs, warm.Target, $"{warmDs}@{snap}")).Error is { } e) throw new InvalidOperationException(e);
        await warm.DisposeAsync();
        await DropPoolAsync(warmPool);
    }
    {
        string pool = await PoolAsync("kbou" + tag, 3);
        await using var ours = new Kraud.Bench.Replication.LoopbackTransport(zfs, streams, pool, host => Tls(dir, host));
        async Task<(long, double)> Ours(string snap)
        {
            var sw = Stopwatch.StartNew();
            var r = await ours.Sender.SendAsync("v1", ds, ours.Target, snap);
            if (r.Error is not null) throw new InvalidOperationException(r.Error);
            return (r.Bytes, sw.Elapsed.TotalSeconds);
        }
        Add("full", "ours", await Ours(a));
        Add("incremental", "ours", await Ours(b));
        Console.WriteLine("empty: ours: begins");
        Add("empty", "ours", await Ours(c));
        await ours.DisposeAsync();
        await CheckCopyAsync(VolumeDatasets.Name(pool, "v1"), c);
        await DropPoolAsync(pool);
    }
    // The peers that are one shell pipeline per pass, each into a pool of its own, timed to the pipeline's end (the
    // size estimate after, it is not their transfer).
    async Task PipelinePeerAsync(string method, string poolPrefix, Func<string, string, string?, string> pipeline)
    {
        string pool = await PoolAsync(poolPrefix + tag, 3);
        foreach (var (phase, snap, from) in new[] { ("full", a, (string?)null), ("incremental", b, a), ("empty", c, b) })
        {
            var sw = Stopwatch.StartNew();
            await run.RunCheckedAsync(["/bin/bash", "-c", pipeline(pool, snap, from)]);
            double seconds = sw.Elapsed.TotalSeconds;
            Add(phase, method, (await Estimate(snap, from), seconds));
        }
        await CheckCopyAsync($"{pool}/copy", c);
        await DropPoolAsync(pool);
    }
    // The limit: the kernel pipes zfs send's stdout into zfs receive's stdin; nothing in between.
    await PipelinePeerAsync("pipe", "kbpi", (pool, snap, from) => $"set -o pipefail; {Send(snap, from)} | /usr/sbin/zfs receive -u {pool}/copy");
    // The limit of an encrypting transport: the same pipe through socat's TLS 1.3 (OpenSSL itself, no .NET) over
    // loopback, both ends with the hosts' certificates, AES-128-GCM as ours agrees on.
    int socatPort = 17370;
    await PipelinePeerAsync("socat TLS", "kbso", (pool, snap, from) =>
        Kraud.Bench.Replication.Split.SocatScript(dir, socatPort++, Send(snap, from), $"STDOUT | /usr/sbin/zfs receive -u {pool}/copy"));

    Console.WriteLine();
    Console.WriteLine($"replication, {fullMiB} MiB incompressible full + {incrMiB} MiB incremental + an empty pass, one lane run (QEMU TCG), loopback");
    string[] methods = ["ours", "pipe", "syncoid", "socat TLS"];
    Console.WriteLine("| phase | " + string.Join(" | ", methods) + " | ours/pipe | ours/syncoid | ours/socat TLS |");
    Console.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---:|", methods.Length + 3)));
    foreach (var phase in new[] { "full", "incremental", "empty" })
    {
        // MiB/s for data; seconds for the empty pass (its bytes are the stream's headers).
        double? Value(string m) => results.TryGetValue((phase, m), out var r) ? (phase == "empty" ? r.Seconds : r.Bytes / r.Seconds / (1 << 20)) : null;
        string Cell(string m) => Value(m) is { } v ? (phase == "empty" ? $"{v:F1} s" : $"{v:F1} MiB/s") : "—";
        string Ratio(string m) => Value("ours") is { } o && Value(m) is { } p ? (phase == "empty" ? $"{p / o:F2}x" : $"{o / p:F2}x") : "—";
        Console.WriteLine($"| {phase} | " + string.Join(" | ", methods.Select(Cell)) + $" | {Ratio("pipe")} | {Ratio("syncoid")} | {Ratio("socat TLS")} |");
    }
    Console.WriteLine("ratios > 1: ours faster (for the empty pass, the peer's seconds over ours). goal: ours >= 0.8x the pipe and > 1x syncoid");
}
finally
{
    foreach (var (pool, file) in pools.ToList())
    {
        await run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", pool]);
        File.Delete(file);
    }
    Directory.Delete(dir, true);
}

// The copy is the source's: the same guid of the snapshot.
async Task CheckCopyAsync(string copy, string snap)
{
    string guid = (await cli.GetAsync(snap, ["guid"]))["guid"].Value;
    string at = copy + snap[snap.IndexOf('@')..];
    if ((await cli.GetAsync(at, ["guid"]))["guid"].Value != guid) throw new InvalidOperationException($"{at} differs from the source");
}

void Add(string phase, string method, (long Bytes, double Seconds) r)
{
    results[(phase, method)] = r;
    Console.WriteLine($"{phase}: {method}: {r.Bytes} bytes in {r.Seconds:F1} s = {r.Bytes / r.Seconds / (1 << 20):F1} MiB/s");
}

static void WriteRandom(string path, int mib)
{
    var buffer = new byte[1 << 20];
    using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
    for (int i = 0; i < mib; i++) { RandomNumberGenerator.Fill(buffer); f.Write(buffer); }
}

static ReplicationTls Tls(string dir, string host) => ReplicationTls.Load(Path.Combine(dir, host + ".pem"), Path.Combine(dir, host + ".key"), Path.Combine(dir, "ca.pem"));

static void MakeCertificates(string dir)
{
    string F(string n) => Path.Combine(dir, n);
    OpenSsl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=bench CA", "-keyout", F("ca.key"), "-out", F("ca.pem"));
    // For socat (OpenSSL reads it through OPENSSL_CONF): TLS 1.3 with the suite our transport prefers.
    File.WriteAllText(F("tls13.cnf"), "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = tls\n[tls]\n" +
        "MinProtocol = TLSv1.3\nCiphersuites = TLS_AES_128_GCM_SHA256\n");
    foreach (var h in new[] { "h1", "h2" })
    {
        File.WriteAllText(F(h + ".ext"), $"subjectAltName=DNS:{h}\nextendedKeyUsage=serverAuth,clientAuth\n");
        OpenSsl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + h, "-keyout", F(h + ".key"), "-out", F(h + ".csr"));
        OpenSsl("x509", "-req", "-in", F(h + ".csr"), "-CA", F("ca.pem"), "-CAkey", F("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", F(h + ".ext"), "-out", F(h + ".pem"));
    }
}

static void OpenSsl(params string[] args)
{
    var psi = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in args) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var err = p.StandardError.ReadToEndAsync();
    p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"openssl failed: {err.Result}");
}

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
