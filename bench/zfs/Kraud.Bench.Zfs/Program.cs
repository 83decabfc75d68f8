using System.Diagnostics;
using System.Globalization;
using Kraud.Zfs;
using Kraud.Commands;
using Kraud.Zfs.Schedule;

// Kernel-lane benchmark (bench/zfs/run): our libzfs_core paths beside the zfs command and sanoid, same pool,
// same run; prints a table with the ratios. Usage: Kraud.Bench.Zfs [--datasets 100] [--volumes 1000] [--rounds 5]
int datasets = Arg("--datasets", 100), volumes = Arg("--volumes", 1000), rounds = Arg("--rounds", 5);
var run = new ArgvRunner { DefaultTimeout = TimeSpan.FromHours(1) };
var cli = new ZfsCli(run);
var zfs = new ZfsApi(cli);
if (!File.Exists("/dev/zfs")) await run.RunCheckedAsync(["/sbin/modprobe", "zfs"]);

string pool = "kbench" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
string vdev = $"/var/tmp/{pool}.img";
using (var f = new FileStream(vdev, FileMode.CreateNew)) f.SetLength(4L << 30);
await run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", "-O", "mountpoint=none", pool, vdev]);
var rows = new List<(string What, double Ms, string Note)>();
try
{
    // 1. A snapshot of N datasets: one lzc_snapshot vs one `zfs snapshot` with N names vs N commands.
    var names = Enumerable.Range(0, datasets).Select(i => $"{pool}/d{i:D4}").ToList();
    zfs.EnsureParents(names[0]);
    foreach (var n in names) zfs.CreateFilesystem(n, null, null);
    var lzc = new List<double>(); var one = new List<double>(); var many = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        lzc.Add(Time(() => zfs.Snapshot(names.Select(n => $"{n}@l{r}").ToList())));
        one.Add(await TimeAsync(() => cli.SnapshotAsync(names.Select(n => $"{n}@o{r}").ToList())));
        many.Add(await TimeAsync(async () => { foreach (var n in names) await cli.SnapshotAsync([$"{n}@m{r}"]); }));
    }
    double mL = Median(lzc), mO = Median(one), mM = Median(many);
    Console.WriteLine($"snapshot of {datasets} datasets, median of {rounds} rounds (ms): lzc_snapshot {mL:F1}, zfs snapshot x1 {mO:F1}, zfs snapshot x{datasets} {mM:F1}");
    rows.Add(($"{datasets} datasets: one lzc_snapshot (ours)", mL, ""));
    rows.Add(($"{datasets} datasets: one `zfs snapshot` with {datasets} names", mO, $"ours {mO / mL:F1}x faster (goal >= 1x)"));
    rows.Add(($"{datasets} datasets: {datasets} separate `zfs snapshot`", mM, $"ours {mM / mL:F1}x faster (goal >= 20x)"));

    // 2. A scheduled snapshot-and-prune pass over V volumes, hourly 24 + daily 7: our scheduler vs sanoid.
    string root = $"{pool}/kraud";
    zfs.EnsureParents(root + "/x");
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < volumes; i++)
        zfs.CreateFilesystem($"{root}/v{i:D5}", null, new Dictionary<string, string> { [SnapshotSchedule.Property] = "1h=24,1d=7", ["kraud:id"] = $"v{i:D5}", ["kraud:host"] = "h1" });
    Console.WriteLine($"created {volumes} volumes in {sw.Elapsed.TotalSeconds:F1} s");
    var scheduler = new SnapshotScheduler(zfs, TimeProvider.System, _ => Task.FromResult<IReadOnlyList<string>>([root]), new VolumeMarks("kraud:id", "kraud:generation", "kraud:host", "h1"));
    SchedulerPassResult? pass = null;
    double oursTake = await TimeAsync(async () => pass = await scheduler.RunOnceAsync());
    if (pass!.Created != 2 * volumes || pass.Errors.Count > 0) throw new InvalidOperationException($"our pass created {pass.Created}: {string.Join("; ", pass.Errors)}");
    double oursIdle = await TimeAsync(async () => pass = await scheduler.RunOnceAsync());
    if (pass!.Created != 0) throw new InvalidOperationException("the idle pass created snapshots");
    scheduler.Invalidate();
    double oursIdleListed = await TimeAsync(async () => pass = await scheduler.RunOnceAsync());
    if (pass!.Created != 0 || pass.FromCache) throw new InvalidOperationException("the listed idle pass created snapshots or used the cache");
    // Same datasets for sanoid: drop ours (one call), then let sanoid take its own.
    zfs.DestroySnapshots((await zfs.ListSnapshotsAsync(root, recursive: true)).Select(s => s.Name).ToList());

    string conf = $"/var/tmp/{pool}-sanoid";
    Directory.CreateDirectory(conf);
    File.WriteAllText(Path.Combine(conf, "sanoid.conf"),
        $"[{root}]\n\tuse_template = kraud\n\trecursive = yes\n\tprocess_children_only = yes\n\n" +
        "[template_kraud]\n\tfrequently = 0\n\thourly = 24\n\tdaily = 7\n\tmonthly = 0\n\tyearly = 0\n\tautosnap = yes\n\tautoprune = yes\n");
    string[] sanoid = ["/usr/sbin/sanoid", $"--configdir={conf}", $"--cache-dir={conf}/cache", $"--run-dir={conf}/run",
        "--take-snapshots", "--prune-snapshots", "--quiet"];
    Directory.CreateDirectory(conf + "/cache"); Directory.CreateDirectory(conf + "/run");
    double sanoidTake = await TimeAsync(() => run.RunCheckedAsync(sanoid));
    int sanoidSnaps = (await zfs.ListSnapshotsAsync(root, recursive: true)).Count;
    if (sanoidSnaps != 2 * volumes) throw new InvalidOperationException($"sanoid made {sanoidSnaps} snapshots, expected {2 * volumes}");
    double sanoidIdle = await TimeAsync(() => run.RunCheckedAsync(sanoid));
    rows.Add(($"{volumes} volumes, pass taking hourly+daily ({2 * volumes} snapshots) + prune: ours", oursTake, ""));
    rows.Add(($"{volumes} volumes, same pass: sanoid --take-snapshots --prune-snapshots", sanoidTake, $"ours {sanoidTake / oursTake:F1}x faster (goal >= 5x)"));
    rows.Add(($"{volumes} volumes, next pass, nothing due: ours (cached listing, as sanoid's)", oursIdle, ""));
    rows.Add(($"{volumes} volumes, next pass, nothing due: ours (listing forced)", oursIdleListed, ""));
    rows.Add(($"{volumes} volumes, next pass, nothing due: sanoid (its snapshot cache)", sanoidIdle, $"ours {sanoidIdle / Math.Max(oursIdle, 0.001):F0}x (cached), {sanoidIdle / oursIdleListed:F1}x (listed)"));
}
finally
{
    await run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", pool]);
    File.Delete(vdev);
}

Console.WriteLine();
Console.WriteLine("| case | ms | ratio |");
Console.WriteLine("|---|---:|---|");
foreach (var (what, ms, note) in rows) Console.WriteLine($"| {what} | {ms:F1} | {note} |");
return 0;

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Time(Action a) { var sw = Stopwatch.StartNew(); a(); return sw.Elapsed.TotalMilliseconds; }
static async Task<double> TimeAsync(Func<Task> a) { var sw = Stopwatch.StartNew(); await a(); return sw.Elapsed.TotalMilliseconds; }
static double Median(List<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
