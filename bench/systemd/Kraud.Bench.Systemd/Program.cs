using System.Diagnostics;
using System.Globalization;
using Kraud.Systemd.DBus;
using Microsoft.Extensions.Logging;

// Time from a start request to a trivial unit (Type=exec, sleep) being active: Kraud.Systemd.DBus's StartUnit over
// the system bus and over systemd's private socket, and until a watch sees it active, against `systemctl start`
// (a process per start, what an agent that shells out pays). Interleaved, in one boot, after two warm-up rounds.
// Needs systemd as PID 1 (bench/systemd/run boots the lane with it). Usage: Kraud.Bench.Systemd [--rounds N] [--verbose]
int rounds = args is ["--rounds", var n, ..] ? int.Parse(n, CultureInfo.InvariantCulture) : 20;
ILogger? log = args.Contains("--verbose") ? new StderrLogger() : null;
if (File.ReadAllText("/proc/1/comm").Trim() != "systemd") { Console.Error.WriteLine("needs systemd as PID 1"); return 2; }

const string Unit = "kraud-bench-start.service";
File.WriteAllText("/run/systemd/system/" + Unit, "[Service]\nType=exec\nExecStart=/bin/sleep infinity\n");
Console.Error.WriteLine("bench: connecting");
await using var bus = await SystemdManager.ConnectAsync(SystemdAddresses.SystemBus, log, Limit());
await using var direct = await SystemdManager.ConnectAsync(SystemdAddresses.Private, log, Limit());
await bus.ReloadAsync(Limit());

var methods = new (string Name, Func<Task<TimeSpan>> Start)[]
{
    ("StartUnit, system bus (job done)", () => TimeJob(bus)),
    ("StartUnit, private socket (job done)", () => TimeJob(direct)),
    ("StartUnit, system bus, until a watch sees active", () => TimeUntilWatchSeesActive(bus)),
    ("systemctl start", TimeSystemctl),
};
var samples = methods.ToDictionary(m => m.Name, _ => new List<double>());
for (int round = -2; round < rounds; round++)
{
    for (int k = 0; k < methods.Length; k++)
    {
        var (name, start) = methods[(k + round + 2) % methods.Length]; // rotate the order: no method always goes first
        await bus.StopUnitAsync(Unit, Limit());
        var took = await start();
        var state = await bus.GetUnitStateAsync(Unit, Limit());
        Console.Error.WriteLine($"bench: round {round}: {name}: {took.TotalMilliseconds:0.0} ms");
        if (state.ActiveState != UnitActiveState.Active || state.MainPid == 0) throw new InvalidOperationException($"{name}: not running after the start: {state}");
        if (round >= 0) samples[name].Add(took.TotalMilliseconds);
    }
}
await bus.StopUnitAsync(Unit, Limit());

double systemctl = Median(samples["systemctl start"]);
Console.WriteLine($"start -> active, {Unit} (Type=exec), {rounds} rounds, lane under TCG; median and p90 in ms");
foreach (var (name, _) in methods)
{
    var ms = samples[name];
    Console.WriteLine($"  {name,-50} median {Median(ms),7:0.0}  p90 {Percentile(ms, 0.9),7:0.0}  systemctl/this {systemctl / Median(ms),5:0.00}x");
}
return 0;

static async Task<TimeSpan> TimeJob(SystemdManager systemd)
{
    var clock = Stopwatch.StartNew();
    var outcome = await systemd.StartUnitAsync(Unit, Limit());
    var took = clock.Elapsed;
    if (!outcome.Succeeded) throw new InvalidOperationException(outcome.ToString());
    return took;
}

static async Task<TimeSpan> TimeUntilWatchSeesActive(SystemdManager systemd)
{
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
    await using var states = systemd.WatchUnitAsync(Unit, stop.Token).GetAsyncEnumerator();
    if (!await states.MoveNextAsync()) throw new InvalidOperationException("the watch ended");
    var clock = Stopwatch.StartNew();
    var job = systemd.StartUnitAsync(Unit, Limit());
    while (await states.MoveNextAsync() && states.Current.ActiveState != UnitActiveState.Active) { }
    var took = clock.Elapsed;
    if (!(await job).Succeeded) throw new InvalidOperationException("the start failed");
    stop.Cancel();
    return took;
}

static async Task<TimeSpan> TimeSystemctl()
{
    var clock = Stopwatch.StartNew();
    using var p = Process.Start(new ProcessStartInfo("/bin/systemctl", ["start", Unit])) ?? throw new InvalidOperationException("no systemctl");
    await p.WaitForExitAsync();
    var took = clock.Elapsed;
    if (p.ExitCode != 0) throw new InvalidOperationException($"systemctl start exited {p.ExitCode}");
    return took;
}

// Every call has a limit: a lost signal fails the run with a stack instead of hanging the lane.
static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

static double Median(List<double> xs) => Percentile(xs, 0.5);

static double Percentile(List<double> xs, double q)
{
    var sorted = xs.Order().ToList();
    return sorted[(int)Math.Min(sorted.Count - 1, Math.Round(q * (sorted.Count - 1)))];
}

/// <summary>--verbose: the client's debug lines on stderr, with the time since start.</summary>
sealed class StderrLogger : ILogger
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    public IDisposable? BeginScope<T>(T state) where T : notnull => null;
    public bool IsEnabled(LogLevel level) => true;
    public void Log<T>(LogLevel level, EventId id, T state, Exception? e, Func<T, Exception?, string> format) =>
        Console.Error.WriteLine($"[{_clock.Elapsed.TotalSeconds:0.000}] {format(state, e)}");
}
