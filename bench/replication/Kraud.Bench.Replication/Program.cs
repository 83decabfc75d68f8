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
// limit `zfs send | zfs receive` (a shell pipe: the peer is the pipe itself) and syncoid local to local, same
// pools, same run; prints a table with the ratios.
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
var run = new ArgvRunner { DefaultTimeout = TimeSpan.FromHours(1) };
var cli = new ZfsCli(run);
var zfs = new ZfsApi(cli);
if (!File.Exists("/dev/zfs")) await run.RunCheckedAsync(["/sbin/modprobe", "zfs"]);
// The vdevs live in the guest's RAM (tmpfs overlay): keep the ARC from competing with them.
File.WriteAllText("/sys/module/zfs/parameters/zfs_arc_max", (768L << 20).ToString(CultureInfo.InvariantCulture));

string tag = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
string src = "kbsrc" + tag, dst = "kbdst" + tag;
string dir = Directory.CreateTempSubdirectory("kraud-bench-repl").FullName;
var pools = new List<(string Pool, string File)>();
foreach (var (pool, gib) in new[] { (src, 2L), (dst, 6L) })
{
    string vdev = $"/var/tmp/{pool}.img";
    using (var f = new FileStream(vdev, FileMode.CreateNew)) f.SetLength(gib << 30);
    await run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", "-O", "compression=off", "-O", "mountpoint=/var/tmp/" + pool, pool, vdev]);
    pools.Add((pool, vdev));
}
var rows = new List<(string What, long Bytes, double Seconds)>();
try
{
    string ds = VolumeDatasets.Name(src, "v1");
    zfs.EnsureParents(ds);
    zfs.CreateFilesystem(ds, null, null);
    await cli.MountAsync(ds); // libzfs_core creates without mounting
    WriteRandom($"/var/tmp/{src}/kraud/v1/full", fullMiB);
    string a = ds + "@repl-20261205T000000Z", b = ds + "@repl-20261205T010000Z";
    zfs.Snapshot([a]);

    // Ours: a replica on dst, listener on loopback, sender with h1's certificate.
    MakeCertificates(dir);
    var streams = new ZfsSendReceive(cli);
    var ours = new Kraud.Bench.Replication.LoopbackTransport(zfs, streams, dst, host => Tls(dir, host));

    async Task<(long, double)> Ours(string snap)
    {
        var sw = Stopwatch.StartNew();
        var r = await ours.Sender.SendAsync("v1", ds, ours.Target, snap);
        if (r.Error is not null) throw new InvalidOperationException(r.Error);
        return (r.Bytes, sw.Elapsed.TotalSeconds);
    }
    // The limit: the kernel pipes zfs send's stdout into zfs receive's stdin; nothing in between.
    async Task<(long, double)> Pipe(string snap, string? from, string into)
    {
        string send = from is null ? $"/usr/sbin/zfs send {snap}" : $"/usr/sbin/zfs send -i {from} {snap}";
        var sw = Stopwatch.StartNew();
        await run.RunCheckedAsync(["/bin/bash", "-c", $"set -o pipefail; {send} | /usr/sbin/zfs receive -u {into}"]);
        return (await Estimate(snap, from), sw.Elapsed.TotalSeconds);
    }
    // The limit of an encrypting transport: the same pipe through socat's TLS 1.3 (OpenSSL itself, no .NET) over
    // loopback, both ends with the hosts' certificates, AES-128-GCM as ours agrees on.
    int socatPort = 17370;
    async Task<(long, double)> SocatTls(string snap, string? from, string into)
    {
        string send = from is null ? $"/usr/sbin/zfs send {snap}" : $"/usr/sbin/zfs send -i {from} {snap}";
        string F(string n) => Path.Combine(dir, n);
        string tls = $"cafile={F("ca.pem")},verify=1,openssl-min-proto-version=TLS1.3";
        string script = $"set -o pipefail; export OPENSSL_CONF={F("tls13.cnf")}; " +
            $"/usr/bin/socat -u -b 131072 OPENSSL-LISTEN:{socatPort},bind=127.0.0.1,reuseaddr,cert={F("h2.pem")},key={F("h2.key")},{tls} STDOUT | /usr/sbin/zfs receive -u {into} & r=$!; " +
            $"{send} | /usr/bin/socat -u -b 131072 STDIN OPENSSL:127.0.0.1:{socatPort},retry=600,interval=0.1,commonname=h2,cert={F("h1.pem")},key={F("h1.key")},{tls} || {{ kill $r; exit 1; }}; wait $r";
        socatPort++;
        var sw = Stopwatch.StartNew();
        await run.RunCheckedAsync(["/bin/bash", "-c", script]);
        return (await Estimate(snap, from), sw.Elapsed.TotalSeconds);
    }
    async Task<(long, double)> Syncoid(string snap, string? from, string into)
    {
        var sw = Stopwatch.StartNew();
        await run.RunCheckedAsync(["/usr/sbin/syncoid", "--no-sync-snap", "--no-privilege-elevation", "--quiet", ds, into]);
        return (await Estimate(snap, from), sw.Elapsed.TotalSeconds);
    }
    async Task<long> Estimate(string snap, string? from) => await streams.EstimateAsync(snap, from);

    string pipeDs = $"{dst}/pipe", syncoidDs = $"{dst}/syncoid", socatDs = $"{dst}/socat";
    Add("full: ours (TLS 1.3 transport, resumable receive)", await Ours(a));
    Add("full: zfs send piped into zfs receive", await Pipe(a, null, pipeDs));
    Add("full: syncoid local to local", await Syncoid(a, null, syncoidDs));
    Add("full: zfs send | socat TLS 1.3 loopback | zfs receive", await SocatTls(a, null, socatDs));

    WriteRandom($"/var/tmp/{src}/kraud/v1/incremental", incrMiB);
    zfs.Snapshot([b]);
    Add("incremental: ours", await Ours(b));
    Add("incremental: zfs send -i piped into zfs receive", await Pipe(b, a, pipeDs));
    Add("incremental: syncoid", await Syncoid(b, a, syncoidDs));
    Add("incremental: zfs send -i | socat TLS 1.3 loopback | zfs receive", await SocatTls(b, a, socatDs));
    await ours.DisposeAsync();

    // The copies are the source's: same guid of the newest snapshot everywhere.
    string guid = (await cli.GetAsync(b, ["guid"]))["guid"].Value;
    foreach (var copy in new[] { VolumeDatasets.Name(dst, "v1"), pipeDs, syncoidDs, socatDs })
        if ((await cli.GetAsync($"{copy}@repl-20261205T010000Z", ["guid"]))["guid"].Value != guid) throw new InvalidOperationException($"{copy} differs from the source");

    Console.WriteLine();
    Console.WriteLine($"replication throughput, {fullMiB} MiB incompressible full + {incrMiB} MiB incremental, one lane run (QEMU TCG), loopback");
    Console.WriteLine("| transfer | bytes | seconds | MiB/s | vs pipe | vs syncoid | vs socat TLS |");
    Console.WriteLine("|---|---|---|---|---|---|---|");
    for (int i = 0; i < rows.Count; i++)
    {
        var (what, bytes, s) = rows[i];
        int group = i / 4 * 4;
        double Rate(int k) => rows[k].Bytes / rows[k].Seconds / (1 << 20);
        double rate = bytes / s / (1 << 20);
        string vs(int peer) => i % 4 == 0 ? $"{rate / Rate(group + peer):F2}x" : "";
        Console.WriteLine($"| {what} | {bytes} | {s:F1} | {rate:F1} | {vs(1)} | {vs(2)} | {vs(3)} |");
    }
    Console.WriteLine("goal: ours >= 0.8x the pipe and > 1x syncoid");
}
finally
{
    foreach (var (pool, file) in pools)
    {
        await run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", pool]);
        File.Delete(file);
    }
    Directory.Delete(dir, true);
}

void Add(string what, (long Bytes, double Seconds) r)
{
    rows.Add((what, r.Bytes, r.Seconds));
    Console.WriteLine($"{what}: {r.Bytes} bytes in {r.Seconds:F1} s");
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
