using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Kraud.Agent.ControlPlane;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Kraud.Bench.Kvm;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Testing;
using Kraud.Vmm.Tests;

// usage: Kraud.Bench.Pod [--bin DIR] [--sequential N (50)] [--parallel N (10)] [--bare N (20)]
// Times publish -> the guest's first instruction through the published kraud-agent (`run`, child VMs, nats-server on
// loopback, the image already in the agent's blob store): N pods one after another, then M published at once. The
// moment of the first instruction is the agent's own record of the VMM's READY=1 (observed.vm.startedAt), which the
// VMM sends right before its first KVM_RUN. Beside it, in the same run, the bare VMM: exec of kraud-vmm -> READY=1 on a
// NOTIFY_SOCKET (what any supervisor pays, the floor under the agent's figure). Then the memory every running pod costs
// beyond its guest memory: the VMMs' RSS outside guest RAM, plus the agent's RSS growth divided by the pods.
string bin = "artifacts/bin";
int sequential = 50, parallel = 10, bare = 20;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    int N() => int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--bin": bin = args[i + 1]; break;
        case "--sequential": sequential = N(); break;
        case "--parallel": parallel = N(); break;
        case "--bare": bare = N(); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 64;
    }
}
bin = Path.GetFullPath(bin);
string agentBin = Path.Combine(bin, "kraud-agent"), vmmBin = Path.Combine(bin, "kraud-vmm");
const string Host = "bench";
string prefix = "bp" + Guid.NewGuid().ToString("N")[..6];
using var dir = new TempDir("kraud-bench-pod");
var signer = new BaliSigner();

// The guest package (the idle test guest) and one signed image (a bali file: no registry in the timed path).
string guest = Path.Combine(dir.Path, "guest", "default");
Directory.CreateDirectory(guest);
File.Copy(TestGuests.Path("idle"), Path.Combine(guest, "kernel"));
File.WriteAllText(Path.Combine(guest, "cradle.json"), """{"version":2,"kernel":{"kernel":"kernel"}}""");
string image = Path.Combine(dir.Path, "app.tar.gz");
var sha = signer.WriteImage(image, BaliSigner.Tar(("bin/app", "bench app\n")));

await using var nats = await NatsServer.StartAsync();
await using var cp = await ControlPlane.ConnectAsync(nats.Url);
string config = dir.Write("agent.json", $$"""
    { "host": "{{Host}}", "stateDir": "{{Path.Combine(dir.Path, "state")}}", "nats": { "servers": ["{{nats.Url}}"] },
      "guestDir": "{{Path.Combine(dir.Path, "guest")}}", "vmSupervisor": "child", "allocatableVcpus": 256, "trustedImageKeys": ["{{signer.Identity}}"],
      "log": { "level": "warning" } }
    """);
using var agent = AgentProcess.Start(["run", "--config", config], binary: agentBin);
var ids = new List<string>();
try
{
    await Deadline.WaitUntilAsync(async () => await cp.GetHostAsync(Host) is not null, TimeSpan.FromSeconds(30), "the agent's host record", 100);
    long agentIdleKiB = StatusKiB(agent.Pid, "VmRSS:");

    string Spec(int n) => $$"""
        { "resources": { "vcpus": 1, "memoryMiB": 32 }, "guest": "default", "restart": "always",
          "containers": [ { "name": "app", "image": { "bali": "file://{{image}}", "sha256": "{{sha.Hex}}" } } ],
          "network": { "ip6": "fd42:b0::{{n:x}}", "ip4": "10.250.{{n / 250}}.{{n % 250 + 1}}" } }
        """;
    async Task<double> StartAsync(string id, int n, DateTimeOffset? published = null)
    {
        var t0 = published ?? DateTimeOffset.UtcNow;
        if (published is null) await cp.PublishAsync(Host, "Pod", id, 1, Spec(n));
        var s = await cp.WaitForStatusAsync(Host, "pod", id, s => s.Phase is ResourceStatus.Ready or ResourceStatus.Failed, TimeSpan.FromSeconds(60));
        if (s.Phase != ResourceStatus.Ready) throw new InvalidOperationException($"pod {id}: {s.Message}");
        var started = DateTimeOffset.Parse((string)s.Observed["vm"]!["startedAt"]!, CultureInfo.InvariantCulture);
        return (started - t0).TotalMilliseconds;
    }

    // Warm-up: the image into the blob store, the agent's code paths run once (not counted).
    ids.Add($"{prefix}-warm");
    await StartAsync(ids[^1], 0);

    var seq = new List<double>();
    for (int i = 0; i < sequential; i++)
    {
        ids.Add($"{prefix}-s{i}");
        seq.Add(await StartAsync(ids[^1], 1 + i));
    }
    var burst = new List<(string Id, int N, DateTimeOffset At)>();
    for (int i = 0; i < parallel; i++)
    {
        ids.Add($"{prefix}-p{i}");
        burst.Add((ids[^1], 1 + sequential + i, DateTimeOffset.UtcNow));
        await cp.PublishAsync(Host, "Pod", ids[^1], 1, Spec(1 + sequential + i));
    }
    var par = (await Task.WhenAll(burst.Select(b => StartAsync(b.Id, b.N, b.At)))).ToList();

    // Memory with every pod running.
    var vmms = ids.Select(id => int.Parse(File.ReadAllText($"/run/kraud/vm/{id}/vmm.pid"), CultureInfo.InvariantCulture)).ToList();
    double vmmBeyondMiB = vmms.Select(p => (StatusKiB(p, "VmRSS:") - GuestRssKiB(p)) / 1024.0).Average();
    double vmmPrivateMiB = vmms.Select(p => (StatusKiB(p, "RssAnon:") - GuestRssKiB(p)) / 1024.0).Average();
    double agentShareMiB = (StatusKiB(agent.Pid, "VmRSS:") - agentIdleKiB) / 1024.0 / ids.Count;

    var floor = BareVmm(vmmBin, TestGuests.Path("idle"), dir.Path, bare);

    Console.WriteLine();
    Console.WriteLine($"publish -> guest's first instruction (image cached, child VMs, 1 vCPU / 32 MiB, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg")[..14]})");
    Console.WriteLine($"{"",-44} {"p50 ms",8} {"p99 ms",8} {"max ms",8}");
    Row($"pods one after another (n={seq.Count})", seq);
    Row($"pods published at once (n={par.Count})", par);
    Row($"bare kraud-vmm exec -> READY=1 (n={floor.Count})", floor);
    Console.WriteLine($"{"agent's pod / bare VMM (p50)",-44} {P(seq, 50) / P(floor, 50),7:0.0}x");
    Console.WriteLine($"goals: p50 <= 50 ms, p99 <= 150 ms (cradle's budget for a container: 100 ms)");
    Console.WriteLine();
    Console.WriteLine($"memory per running pod beyond guest memory ({ids.Count} pods running): VMM RSS {vmmBeyondMiB:0.00} MiB " +
        $"(private {vmmPrivateMiB:0.00}) + agent share {agentShareMiB:0.00} MiB = {vmmBeyondMiB + agentShareMiB:0.00} MiB (goal <= 6 MiB); " +
        $"counting only private VMM memory: {vmmPrivateMiB + agentShareMiB:0.00} MiB");
    return 0;
}
finally
{
    foreach (var id in ids) await cp.PublishAsync(Host, "Pod", id, 2, deleted: true);
    foreach (var id in ids)
    {
        try { await cp.WaitForStatusAsync(Host, "pod", id, s => s.Phase == ResourceStatus.Deleted, TimeSpan.FromSeconds(60)); }
        catch (TimeoutException e) { Console.Error.WriteLine(e.Message); }
    }
    agent.Signal(15);
    await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
}

static void Row(string name, List<double> v) => Console.WriteLine($"{name,-44} {P(v, 50),8:0.0} {P(v, 99),8:0.0} {v.Max(),8:0.0}");

static double P(List<double> v, int p)
{
    var s = v.Order().ToList();
    return s[Math.Min(s.Count - 1, (int)Math.Ceiling(p / 100.0 * s.Count) - 1)];
}

static long StatusKiB(int pid, string field)
{
    foreach (var l in File.ReadLines($"/proc/{pid}/status"))
        if (l.StartsWith(field, StringComparison.Ordinal)) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    return 0;
}

// The resident part of guest RAM (the mapping the VMM names [anon:kraud-guest-ram]), as bench/kvm reads it.
static long GuestRssKiB(int pid)
{
    long rss = 0;
    bool inGuest = false;
    foreach (var l in File.ReadLines($"/proc/{pid}/smaps"))
    {
        if (l.Length > 0 && char.IsAsciiHexDigit(l[0]) && l.Contains('-')) inGuest = l.EndsWith("[anon:kraud-guest-ram]", StringComparison.Ordinal);
        else if (inGuest && l.StartsWith("Rss:", StringComparison.Ordinal)) rss += long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
    return rss;
}

// exec kraud-vmm -> READY=1 (kernel arrival time of the datagram), the VM stopped after each run.
static List<double> BareVmm(string vmm, string kernel, string work, int runs)
{
    var times = new List<double>();
    string launch = Path.Combine(work, "bare.json");
    File.WriteAllText(launch, $$"""{ "id": "bare", "vcpus": 1, "memoryMiB": 32, "kernel": "{{kernel}}", "cmdline": "console=ttyS0" }""");
    for (int i = 0; i <= runs; i++)
    {
        string path = Path.Combine(work, $"notify-{i}.sock");
        using var notify = new NotifySocket(path);
        var psi = new ProcessStartInfo(vmm, ["--config", launch]) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.Environment["NOTIFY_SOCKET"] = path;
        var startNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        double ms = double.NaN;
        var until = DateTime.UtcNow.AddSeconds(10);
        while (double.IsNaN(ms) && DateTime.UtcNow < until)
        {
            if (notify.TryReceive(out string text, out long at) && text.Split('\n').Contains("READY=1")) ms = (at - startNs) / 1e6;
            else Thread.Sleep(1);
        }
        p.Kill();
        p.WaitForExit();
        if (double.IsNaN(ms)) throw new InvalidOperationException("the bare VMM sent no READY=1");
        if (i > 0) times.Add(ms); // the first run warms the page cache
    }
    return times;
}

/// <summary>The control plane's side, as much as the benchmark needs: publish envelopes, read statuses and the host record.</summary>
internal sealed class ControlPlane(NatsConnection connection) : IAsyncDisposable
{
    private readonly NatsJSContext _js = new(connection);
    private INatsKVStore? _status, _hosts;

    public static async Task<ControlPlane> ConnectAsync(string url)
    {
        var c = new NatsConnection(NatsOpts.Default with { Url = url });
        await c.ConnectAsync();
        return new ControlPlane(c);
    }

    public async Task PublishAsync(string host, string kind, string id, long generation, string spec = "{}", bool deleted = false)
    {
        string envelope = $$"""{"apiVersion":"kraud.cloud/v1","kind":"{{kind}}","id":"{{id}}","generation":{{generation}},"deleted":{{(deleted ? "true" : "false")}},"spec":{{spec}}}""";
        (await _js.PublishAsync($"kraud.desired.{host}.{kind.ToLowerInvariant()}.{id}", Encoding.UTF8.GetBytes(envelope))).EnsureSuccess();
    }

    public async Task<HostRecord?> GetHostAsync(string host)
    {
        try
        {
            _hosts ??= await new NatsKVContext(_js).GetStoreAsync("KRAUD_HOSTS");
            return (await _hosts.GetOrNullAsync(host, Serializers.HostRecord))?.Value;
        }
        catch (NatsException) { return null; }
    }

    public async Task<ResourceStatus> WaitForStatusAsync(string host, string kindToken, string id, Func<ResourceStatus, bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        ResourceStatus? last = null;
        while (DateTime.UtcNow < until)
        {
            try
            {
                _status ??= await new NatsKVContext(_js).GetStoreAsync("KRAUD_STATUS");
                last = (await _status.GetOrNullAsync($"{host}.{kindToken}.{id}", Serializers.Status))?.Value;
                if (last is not null && condition(last)) return last;
            }
            catch (NatsException) { }
            await Task.Delay(20);
        }
        throw new TimeoutException($"{host}.{kindToken}.{id}: last {last?.Phase} {last?.Message}");
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
