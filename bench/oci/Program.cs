using System.Diagnostics;
using System.Globalization;
using Kraud.Oci;
using Kraud.Testing;
using Kraud.Oci.Tests.Fixtures;

// usage: Kraud.Bench.Oci [--mib N] [--layers N] [--rounds N]
// Pushes an image of N random (incompressible) layers into a docker-registry on loopback, then pulls it, each round
// into an empty directory, with ours (ImagePuller into a BlobStore: sha256 while streaming, fsync, rename) and with
// `skopeo copy docker://… oci:…` (which also verifies digests). Prints the best and median of each, and the ratio.
int mib = 100, layers = 4, rounds = 5;
for (int i = 0; i < args.Length; i++)
{
    int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--mib": mib = Next(); break;
        case "--layers": layers = Next(); break;
        case "--rounds": rounds = Next(); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 64;
    }
}

string work = Directory.CreateTempSubdirectory("kraud-bench-oci-").FullName;
Process? registry = null;
try
{
    int port = FreePort.Next();
    string host = $"127.0.0.1:{port}";
    File.WriteAllText(Path.Combine(work, "registry.yml"), $"""
        version: 0.1
        log:
          level: error
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: {Path.Combine(work, "registry")}
        http:
          addr: {host}
          secret: bench
        """);
    var psi = new ProcessStartInfo(Tool.Find("docker-registry"), ["serve", Path.Combine(work, "registry.yml")])
        { RedirectStandardOutput = true, RedirectStandardError = true };
    registry = Process.Start(psi)!;
    registry.OutputDataReceived += (_, _) => { };
    registry.ErrorDataReceived += (_, _) => { };
    registry.BeginOutputReadLine();
    registry.BeginErrorReadLine();
    var until = DateTime.UtcNow.AddSeconds(20);
    while (!FreePort.IsListening(port))
    {
        if (registry.HasExited || DateTime.UtcNow > until) throw new InvalidOperationException("docker-registry did not start");
        await Task.Delay(20);
    }

    Console.WriteLine($"building {layers} random layers, {mib} MiB in all, and pushing them with skopeo…");
    var layout = new OciLayout(Path.Combine(work, "layout"));
    long perLayer = (long)mib * 1024 * 1024 / layers;
    var blobs = Enumerable.Range(1, layers).Select(i => layout.AddRandomLayer(i, perLayer)).ToList();
    layout.Tag("bench", layout.AddImage("linux", "amd64", blobs, "/bin/true"));
    Tool.Run("skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
        $"oci:{layout.Dir}:bench", $"docker://{host}/bench/image:bench");
    long bytes = blobs.Sum(b => b.Size);

    var ours = new List<double>();
    var theirs = new List<double>();
    for (int round = 0; round < rounds; round++)
    {
        // Alternate who goes first, so neither always gets the warmer page cache.
        for (int side = 0; side < 2; side++)
        {
            bool oursNow = (round + side) % 2 == 0;
            string dest = Path.Combine(work, $"{(oursNow ? "ours" : "skopeo")}-{round}");
            var sw = Stopwatch.StartNew();
            if (oursNow)
            {
                using var store = new BlobStore(dest);
                using var puller = new ImagePuller(store, [new RegistryOptions { Host = host, PlainHttp = true }]);
                await puller.PullAsync(ImageReference.Parse($"{host}/bench/image:bench"), "bench", null, CancellationToken.None);
                ours.Add(sw.Elapsed.TotalMilliseconds);
            }
            else
            {
                Tool.Run("skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", $"docker://{host}/bench/image:bench", $"oci:{dest}:bench");
                theirs.Add(sw.Elapsed.TotalMilliseconds);
            }
            Directory.Delete(dest, recursive: true);
        }
        Console.WriteLine($"round {round + 1} of {rounds}: ours {ours[^1]:0} ms, skopeo {theirs[^1]:0} ms");
    }

    static double Median(List<double> v) { var s = v.Order().ToList(); return s[s.Count / 2]; }
    double MiBps(double ms) => bytes / 1048576.0 / (ms / 1000);
    Console.WriteLine();
    Console.WriteLine($"image: {layers} layers, {bytes / 1048576.0:0.0} MiB, docker-registry 2.8 on loopback; {rounds} rounds, fresh directory each");
    Console.WriteLine($"{"",-30} {"best ms",9} {"median ms",10} {"MiB/s (best)",13}");
    Console.WriteLine($"{"ours (Kraud.Oci, AOT)",-30} {ours.Min(),9:0} {Median(ours),10:0} {MiBps(ours.Min()),13:0}");
    Console.WriteLine($"{"skopeo copy … oci:",-30} {theirs.Min(),9:0} {Median(theirs),10:0} {MiBps(theirs.Min()),13:0}");
    Console.WriteLine($"{"skopeo/ours",-30} {theirs.Min() / ours.Min(),9:0.00}x {Median(theirs) / Median(ours),9:0.00}x");
    return 0;
}
finally
{
    if (registry is { HasExited: false })
    {
        registry.Kill();
        registry.WaitForExit();
    }
    Directory.Delete(work, recursive: true);
}
