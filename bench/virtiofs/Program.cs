using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

// The fs test guest reads one file whole through virtio-fs (our vhost-user-fs device, Debian's virtiofsd) and the same
// bytes through our virtio-blk (the file as a read-only disk) in the same VM, in alternating slices (`--slice-mib`, the
// order swapped every slice) so both devices meet the same load of this shared host, both from a warm page cache, with
// what a Linux guest uses on both: the request size FUSE_INIT grants (max_pages 256: 1 MiB), page-aligned buffers,
// `--depth` requests in flight. The guest counts each device's TSC cycles; the host's clock between the guest's first
// and last marker turns cycles into seconds. While the VM holds after the run, the VMM's RSS beyond guest memory is
// read from smaps. The daemon runs with the agent's options (Bench.DaemonOptions); KRAUD_BENCH_VIRTIOFSD_ARGS adds more.
// Usage: Kraud.Bench.Virtiofs [--bin DIR (default artifacts/bin)] [--runs N (default 5)] [--size-mib N (default 256)]
//        [--depth N (requests in flight on each device, 1-4, default 4)] [--slice-mib N (default 16)]
string bin = "artifacts/bin";
int runs = 5, sizeMiB = 256, depth = 4, sliceMiB = 16;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--bin") bin = args[i + 1];
    else if (args[i] == "--runs") runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    else if (args[i] == "--size-mib") sizeMiB = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    else if (args[i] == "--depth") depth = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    else if (args[i] == "--slice-mib") sliceMiB = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
}
if (depth is < 1 or > 4) throw new ArgumentException("--depth must be 1 to 4 (the guest's request slots)");
if (sliceMiB < 1 || sliceMiB > sizeMiB) throw new ArgumentException("--slice-mib must be between 1 and --size-mib");
string vmm = Path.Combine(Path.GetFullPath(bin), "kraud-vmm");
const string Virtiofsd = "/usr/lib/qemu/virtiofsd";
const int GuestMemoryMiB = 64;
string guest = Bench.BuildFsGuest();
string dir = Directory.CreateTempSubdirectory("kraud-bench-virtiofs-").FullName;
try
{
    string share = Path.Combine(dir, "share");
    Directory.CreateDirectory(share);
    string data = Path.Combine(share, "data.bin");
    var bytes = new byte[1 << 20];
    using (var f = File.Create(data))
        for (int i = 0; i < sizeMiB; i++) { Random.Shared.NextBytes(bytes); f.Write(bytes); }
    using (var f = File.OpenRead(data)) while (f.Read(bytes) > 0) { } // warm: both paths read from the page cache

    Console.WriteLine($"kraud-vmm {vmm}, virtiofsd {Virtiofsd}, file {sizeMiB} MiB, {runs} rounds, guest {GuestMemoryMiB} MiB, {depth} requests in flight, slices of {sliceMiB} MiB");
    Console.WriteLine($"virtiofsd options: {string.Join(' ', Bench.DaemonOptions)} {Environment.GetEnvironmentVariable("KRAUD_BENCH_VIRTIOFSD_ARGS")}");
    var fsMBs = new List<double>();
    var blkMBs = new List<double>();
    var overhead = new List<double>();
    var fsFastest = new List<double>();
    var blkFastest = new List<double>();
    for (int r = 0; r < runs; r++)
    {
        var (fs, blk, fsSlice, blkSlice, rss) = Bench.RunOnce(vmm, Virtiofsd, guest, dir, share, data, GuestMemoryMiB, depth, sliceMiB);
        fsMBs.Add(sizeMiB * 1.048576 / fs);
        blkMBs.Add(sizeMiB * 1.048576 / blk);
        overhead.Add(rss);
        fsFastest.Add(sliceMiB * 1.048576 / fsSlice);
        blkFastest.Add(sliceMiB * 1.048576 / blkSlice);
    }
    Console.WriteLine();
    Console.WriteLine($"{"metric",-46} {"min",9} {"median",9} {"max",9}");
    Bench.Print("virtio-fs read (MB/s)", fsMBs);
    Bench.Print("virtio-blk read, same bytes (MB/s)", blkMBs);
    Bench.Print("ratio fs/blk per round", fsMBs.Zip(blkMBs, (a, b) => a / b).ToList());
    Bench.Print("virtio-fs, fastest slice of the round (MB/s)", fsFastest);
    Bench.Print("virtio-blk, fastest slice of the round (MB/s)", blkFastest);
    Bench.Print("ratio of the fastest slices per round", fsFastest.Zip(blkFastest, (a, b) => a / b).ToList());
    Bench.Print("VMM RSS beyond guest memory, one share (MiB)", overhead);
    double ratio = Bench.Median(fsMBs.Zip(blkMBs, (a, b) => a / b).ToList());
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"goal: virtio-fs >= 0.8x virtio-blk: {ratio:0.00}x {(ratio >= 0.8 ? "met" : "NOT met")}; RSS beyond guest <= 5 MiB: {Bench.Median(overhead):0.00} MiB {(Bench.Median(overhead) <= 5 ? "met" : "NOT met")}"));
    return 0;
}
finally
{
    Directory.Delete(dir, recursive: true);
}

internal static partial class Bench
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    private static readonly HashSet<string> Printed = [];

    /// <summary>
    /// The agent's virtiofsd options after --socket-path and -o source= (src/Kraud.Agent/Kinds/Pod/ChildProcessShareDaemons.cs
    /// and systemd/kraud-virtiofsd@.service; keep the three alike), so the bench measures the daemon pods get.
    /// </summary>
    public static readonly string[] DaemonOptions = ["-o", "sandbox=namespace", "-o", "cache=auto", "--thread-pool-size=0"];

    /// <summary>One VM: seconds the virtio-fs reads and the virtio-blk reads took, MiB beyond guest RAM.</summary>
    public static (double Fs, double Blk, double FsFastest, double BlkFastest, double OverheadMiB) RunOnce(string vmm, string virtiofsd, string guest,
        string dir, string share, string data, int memoryMiB, int depth, int sliceMiB)
    {
        string socket = Path.Combine(dir, "fs.sock"), fifo = Path.Combine(dir, "serial.fifo"), launch = Path.Combine(dir, "launch.json");
        File.Delete(socket);
        File.Delete(fifo);
        if (mkfifo(fifo, 0x180) != 0) throw new IOException($"mkfifo {fifo}: errno {Marshal.GetLastPInvokeError()}");
        string[] extra = (Environment.GetEnvironmentVariable("KRAUD_BENCH_VIRTIOFSD_ARGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        using var daemon = Start(virtiofsd, [$"--socket-path={socket}", "-o", $"source={share}", .. DaemonOptions, .. extra]);
        var until = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            if (daemon.HasExited || until.Elapsed > TimeSpan.FromSeconds(10)) throw new InvalidOperationException("virtiofsd made no socket");
            Thread.Sleep(5);
        }
        File.WriteAllText(launch, $$"""
            { "id": "bench-fs", "vcpus": 1, "memoryMiB": {{memoryMiB}}, "kernel": "{{guest}}", "initrd": null,
              "cmdline": "console=ttyS0 fs.tag=bench fs.bench={{Path.GetFileName(data)}} fs.bench-hold fs.bench-depth={{depth}} fs.bench-slice={{sliceMiB}}", "serialLog": "{{fifo}}",
              "disks": [ { "path": "{{data}}", "readOnly": true } ], "nets": [], "shares": [ { "tag": "bench", "socket": "{{socket}}" } ] }
            """);
        using var process = Start(vmm, "--config", launch);
        using var serial = new FileStream(fifo, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        var stamps = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        var line = new StringBuilder();
        string? summary = null;
        int b;
        while (summary is null && (b = serial.ReadByte()) >= 0)
        {
            if (b != '\n') { line.Append((char)b); continue; }
            string text = line.ToString();
            line.Clear();
            stamps[text] = clock.Elapsed.TotalSeconds;
            if (text.StartsWith("fs: bench chunk=", StringComparison.Ordinal) && Printed.Add(text)) Console.WriteLine($"guest: {text}");
            if (text.StartsWith("FS-BENCH bytes=", StringComparison.Ordinal)) summary = text;
            else if (text.StartsWith("fs: ", StringComparison.Ordinal) && text.Contains("failed")) throw new InvalidOperationException(text);
        }
        if (summary is null || !summary.EndsWith("same=yes", StringComparison.Ordinal)) throw new InvalidOperationException($"the guest did not finish: {summary}");
        double overhead = OverheadMiB(process.Id, memoryMiB);
        process.Kill();
        process.WaitForExit();
        daemon.Kill();
        daemon.WaitForExit();
        var fields = summary.Split(' ').Skip(1).Select(f => f.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        double fsCycles = double.Parse(fields["fs_cycles"], CultureInfo.InvariantCulture), blkCycles = double.Parse(fields["blk_cycles"], CultureInfo.InvariantCulture);
        // The slices run back to back (a few guest instructions between them), so the markers' interval is both devices' cycles.
        double seconds = stamps["FS-BENCH-END"] - stamps["FS-BENCH-START"], secondsPerCycle = seconds / (fsCycles + blkCycles);
        return (seconds * fsCycles / (fsCycles + blkCycles), seconds * blkCycles / (fsCycles + blkCycles),
            double.Parse(fields["fs_fastest"], CultureInfo.InvariantCulture) * secondsPerCycle,
            double.Parse(fields["blk_fastest"], CultureInfo.InvariantCulture) * secondsPerCycle, overhead);
    }

    /// <summary>VmRSS minus the resident part of guest RAM (the /memfd:kraud-guest-ram mapping).</summary>
    private static double OverheadMiB(int pid, int memoryMiB)
    {
        long rss = 0, guestRss = 0;
        foreach (var l in File.ReadLines($"/proc/{pid}/status"))
            if (l.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = KiB(l);
        bool inGuest = false;
        foreach (var l in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (l.Length > 0 && char.IsAsciiHexDigit(l[0]) && l.Contains('-')) inGuest = l.Contains("/memfd:kraud-guest-ram");
            else if (inGuest && l.StartsWith("Rss:", StringComparison.Ordinal)) guestRss += KiB(l);
        }
        if (guestRss == 0) throw new InvalidOperationException("no /memfd:kraud-guest-ram mapping: guest RAM is not the shared memfd");
        return (rss - guestRss) / 1024.0;
    }

    private static long KiB(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        return p;
    }

    public static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    public static void Print(string name, List<double> values)
    {
        var sorted = values.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-46} {sorted[0],9:0.00} {sorted[sorted.Count / 2],9:0.00} {sorted[^1],9:0.00}"));
    }

    public static string BuildFsGuest()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
            {
                var src = Path.Combine(d.FullName, "tests", "guests");
                if (!File.Exists(Path.Combine(src, "Makefile"))) continue;
                var outDir = Path.Combine(Path.GetTempPath(), "kraud-bench-virtiofs-guests");
                var psi = new ProcessStartInfo("/usr/bin/make");
                foreach (var a in new[] { "-s", "-C", src, $"OUT={outDir}" }) psi.ArgumentList.Add(a);
                using var make = Process.Start(psi)!;
                make.WaitForExit();
                if (make.ExitCode != 0) throw new InvalidOperationException("building the test guests failed (gcc and make needed)");
                return Path.Combine(outDir, "fs.elf");
            }
        throw new InvalidOperationException($"tests/guests not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
