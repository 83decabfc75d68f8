using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Kraud.Bench.Kvm;

/// <summary>
/// Times exec of the VMM to its READY=1 (over NOTIFY_SOCKET, as kraud-vm@.service hears it) and to the guest's first
/// serial byte (read from a FIFO used as the serial log), and reads the VMM's resident memory beyond the guest's own
/// pages from /proc/PID/smaps, beside Firecracker's published figures.
/// </summary>
internal static partial class Benchmark
{
    private const int GuestMemoryMiB = 128;

    // Firecracker's published specification (SPECIFICATION.md): boot to guest init ≤ 125 ms, VMM overhead ≤ 5 MiB.
    private const double FirecrackerBootMs = 125, FirecrackerOverheadMiB = 5;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    /// <summary>Each command is the program and its arguments before the launch file's path (e.g. [kraud-vmm, --config]).</summary>
    public static int Run(IReadOnlyList<string[]> commands, int runs)
    {
        string guest = BuildIdleGuest();
        string dir = Directory.CreateTempSubdirectory("kraud-bench-kvm-").FullName;
        try
        {
            string fifo = Path.Combine(dir, "serial.fifo");
            if (mkfifo(fifo, 0x180) != 0) throw new IOException($"mkfifo {fifo}: errno {Marshal.GetLastPInvokeError()}");
            using var notify = new NotifySocket(Path.Combine(dir, "notify.sock"));
            string launch = Path.Combine(dir, "launch.json");
            File.WriteAllText(launch, $$"""
                { "id": "bench", "vcpus": 1, "memoryMiB": {{GuestMemoryMiB}}, "kernel": "{{guest}}", "initrd": null,
                  "cmdline": "console=ttyS0", "serialLog": "{{fifo}}", "disks": [], "nets": [] }
                """);
            Console.WriteLine($"guest: {guest} ({GuestMemoryMiB} MiB), {runs} runs per command, interleaved");
            // Interleaved, with the no-op baseline in every round: the load of a shared machine then weighs on all
            // of them alike, and "first byte - baseline" is the VMM's own share of the start-up.
            var samples = commands.Select(_ => new Samples()).ToList();
            var baseline = new List<double>();
            for (int i = 0; i < runs + 1; i++)
            {
                double noop = ExecNoop();
                if (i > 0) baseline.Add(noop); // the first round warms the page cache and the file system
                for (int c = 0; c < commands.Count; c++)
                {
                    var (readyMs, ms, rss, anon, pss, guestRss) = RunOnce([.. commands[c], launch], fifo, notify);
                    if (i > 0) samples[c].Add(readyMs, ms, rss, anon, pss, guestRss);
                }
            }
            for (int c = 0; c < commands.Count; c++)
            {
                var s = samples[c];
                Console.WriteLine();
                Console.WriteLine($"{string.Join(' ', commands[c])} FILE");
                Console.WriteLine($"{"metric",-42} {"min",8} {"median",8} {"p90",8} {"firecracker",12}  ratio");
                Print("exec -> READY=1 (ms)", s.Ready, double.NaN);
                Print("exec -> first serial byte (ms)", s.FirstByte, FirecrackerBootMs);
                Print("  minus the no-op baseline, per round (ms)", s.FirstByte.Zip(baseline, (a, b) => a - b).ToList(), double.NaN);
                Print("VMM RSS beyond guest memory (MiB)", s.Overhead, FirecrackerOverheadMiB);
                Print("  of which private (RssAnon, MiB)", s.Private, FirecrackerOverheadMiB);
                Print("  proportional (Pss, MiB)", s.Pss, FirecrackerOverheadMiB);
                Print("guest RAM resident (MiB)", s.GuestResident, double.NaN);
            }
            Console.WriteLine();
            Print("baseline: exec + exit of a no-op AOT binary (ms)", baseline, double.NaN);
            ManyAtOnce(commands[0], guest, dir, ManyVms);
            Console.WriteLine("(Firecracker: boot to guest init <= 125 ms and <= 5 MiB VMM overhead, its published specification;");
            Console.WriteLine(" our first byte is the first instruction of a tiny guest, so the time is the VMM's own start-up.)");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const int ManyVms = 10;

    /// <summary>
    /// What each VM costs a host that runs several: <paramref name="count"/> idle VMs at once, then each VMM's Pss
    /// beyond guest memory (shared pages split between the processes that map them) and its private memory.
    /// </summary>
    private static void ManyAtOnce(string[] command, string guest, string dir, int count)
    {
        var vms = new List<(Process Process, string Log)>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                string log = Path.Combine(dir, $"many-{i}.log"), launch = Path.Combine(dir, $"many-{i}.json");
                File.WriteAllText(launch, $$"""
                    { "id": "many-{{i}}", "vcpus": 1, "memoryMiB": {{GuestMemoryMiB}}, "kernel": "{{guest}}", "initrd": null,
                      "cmdline": "console=ttyS0", "serialLog": "{{log}}", "disks": [], "nets": [] }
                    """);
                var psi = new ProcessStartInfo(command[0]) { RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in command.Skip(1).Append(launch)) psi.ArgumentList.Add(a);
                var p = Process.Start(psi)!;
                p.ErrorDataReceived += (_, _) => { };
                p.BeginErrorReadLine();
                vms.Add((p, log));
            }
            var deadline = Stopwatch.StartNew();
            while (!vms.All(v => File.Exists(v.Log) && File.ReadAllText(v.Log).Contains("idle guest up")))
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the VMs did not all greet within 30 s");
                Thread.Sleep(20);
            }
            var pss = new List<double>();
            var priv = new List<double>();
            foreach (var (p, _) in vms)
            {
                var (_, anon, pssKiB, guestRss) = Memory(p.Id);
                pss.Add((pssKiB - guestRss) / 1024.0);
                priv.Add((anon - guestRss) / 1024.0);
            }
            Console.WriteLine();
            Console.WriteLine($"{count} VMs at once ({string.Join(' ', command)} FILE), per VMM:");
            Print("  Pss beyond guest memory (MiB)", pss, FirecrackerOverheadMiB);
            Print("  private (RssAnon beyond guest, MiB)", priv, FirecrackerOverheadMiB);
        }
        finally
        {
            foreach (var (p, _) in vms)
            {
                p.Kill();
                p.WaitForExit();
                p.Dispose();
            }
        }
    }

    private sealed class Samples
    {
        public List<double> Ready { get; } = [];
        public List<double> FirstByte { get; } = [];
        public List<double> Overhead { get; } = [];
        public List<double> Private { get; } = [];
        public List<double> Pss { get; } = [];
        public List<double> GuestResident { get; } = [];

        public void Add(double readyMs, double ms, long rss, long anon, long pss, long guestRss)
        {
            Ready.Add(readyMs);
            FirstByte.Add(ms);
            Overhead.Add((rss - guestRss) / 1024.0);
            Private.Add((anon - guestRss) / 1024.0);
            Pss.Add((pss - guestRss) / 1024.0);
            GuestResident.Add(guestRss / 1024.0);
        }
    }

    /// <summary>Exec to exit of this binary doing nothing: the share of start-up that is the .NET runtime's, not the VMM's.</summary>
    private static double ExecNoop()
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        psi.ArgumentList.Add("noop");
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static void Print(string name, List<double> values, double peer)
    {
        values = [.. values.Order()]; // a sorted copy: the samples stay in round order for the per-round differences
        double min = values[0], median = values[values.Count / 2], p90 = values[(int)(values.Count * 0.9)];
        string peerText = double.IsNaN(peer) ? "-" : peer.ToString("0.0", CultureInfo.InvariantCulture);
        string ratio = double.IsNaN(peer) ? "" : (median / peer).ToString("0.00", CultureInfo.InvariantCulture) + "x";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-42} {min,8:0.00} {median,8:0.00} {p90,8:0.00} {peerText,12}  {ratio}"));
    }

    private static (double ReadyMs, double Ms, long RssKiB, long AnonKiB, long PssKiB, long GuestRssKiB) RunOnce(
        string[] command, string fifo, NotifySocket notify)
    {
        // stderr (the VMM's log lines, as the journal would get them) is read and dropped, not shown.
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = notify.Path;
        long execNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100; // the wall clock, as READY=1's arrival stamp
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        // Opening the FIFO for reading blocks until the VMM opens it for writing; the first read returns the first byte.
        using var serial = new FileStream(fifo, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        int b = serial.ReadByte();
        double ms = clock.Elapsed.TotalMilliseconds;
        if (b < 0) throw new InvalidOperationException($"the VMM closed the serial log without output (exit {(process.WaitForExit(5000) ? process.ExitCode : -1)})");
        // Wait for the rest of the guest's greeting, so every page the VMM touches to boot it is counted.
        var greeting = new System.Text.StringBuilder();
        while (greeting.Length < 256 && !greeting.ToString().EndsWith("idle guest up\n", StringComparison.Ordinal) && (b = serial.ReadByte()) >= 0)
            greeting.Append((char)b);
        var (rss, anon, pss, guestRss) = Memory(process.Id);
        process.Kill(); // SIGKILL: the run is over; a SIGTERM stop is covered by the tests
        process.WaitForExit();
        // Sent before the guest's first instruction, so queued by now; read after the run, timed by its kernel stamp.
        double readyMs = double.NaN;
        while (double.IsNaN(readyMs) && notify.TryReceive(out string text, out long arrivedNs))
            if (text.Split('\n').Contains("READY=1")) readyMs = (arrivedNs - execNs) / 1e6;
        if (double.IsNaN(readyMs)) throw new InvalidOperationException("the guest ran but the VMM sent no READY=1");
        return (readyMs, ms, rss, anon, pss, guestRss);
    }

    /// <summary>
    /// VmRSS and RssAnon of the process, and the resident part of guest RAM (the mapping the VMM names
    /// [anon:kraud-guest-ram] where the kernel supports names, or /memfd:kraud-guest-ram for a VM with a share, else the
    /// rw mapping of exactly its size). RssAnon is what each further VM costs: the binary's file pages are shared.
    /// </summary>
    private static (long Rss, long Anon, long Pss, long GuestRss) Memory(int pid)
    {
        long rss = 0, anon = 0, pss = 0, guestRss = 0;
        foreach (var l in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            if (l.StartsWith("Pss:", StringComparison.Ordinal)) pss = KiB(l);
        foreach (var l in File.ReadLines($"/proc/{pid}/status"))
        {
            if (l.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = KiB(l);
            else if (l.StartsWith("RssAnon:", StringComparison.Ordinal)) anon = KiB(l);
        }
        bool inGuest = false;
        foreach (var l in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (l.Length > 0 && char.IsAsciiHexDigit(l[0]) && l.Contains('-'))
                inGuest = l.EndsWith("[anon:kraud-guest-ram]", StringComparison.Ordinal) || l.Contains("/memfd:kraud-guest-ram") || l.Contains(" rw-p ");
            else if (inGuest && l.StartsWith("Size:", StringComparison.Ordinal)) inGuest = KiB(l) == GuestMemoryMiB * 1024L; // named, or the exact size between guard pages
            else if (inGuest && l.StartsWith("Rss:", StringComparison.Ordinal)) guestRss += KiB(l);
        }
        return (rss, anon, pss, guestRss);
    }

    private static long KiB(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static string BuildIdleGuest()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
        {
            var src = Path.Combine(d.FullName, "tests", "guests");
            if (!File.Exists(Path.Combine(src, "Makefile"))) continue;
            var outDir = Path.Combine(Path.GetTempPath(), "kraud-bench-kvm-guests");
            var psi = new ProcessStartInfo("/usr/bin/make");
            foreach (var a in new[] { "-s", "-C", src, $"OUT={outDir}" }) psi.ArgumentList.Add(a);
            using var make = Process.Start(psi)!;
            make.WaitForExit();
            if (make.ExitCode != 0) throw new InvalidOperationException("building the test guests failed (gcc and make needed)");
            return Path.Combine(outDir, "idle.elf");
        }
        throw new InvalidOperationException($"tests/guests not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
