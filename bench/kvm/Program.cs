using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Kraud.Bench.Kvm;

// Two modes:
//   vmm --config FILE       the runner: one VM in this process (what `kraud-agent vmm` does), SIGTERM stops it
//   [--vmm PATH] [--runs N] the benchmark: exec PATH (default: this binary) N times on an idle test guest and
//                           time exec -> first serial byte, then measure the VMM's RSS beyond guest memory
if (args.Length >= 3 && args[0] == "vmm" && args[1] == "--config")
{
    using var cts = new CancellationTokenSource();
    using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
    return await Kraud.Agent.Kvm.Vmm.Vmm.RunAsync(args[2], new StderrLoggerFactory(), cts.Token);
}

if (args.Length == 1 && args[0] == "noop") return 0; // the runtime's own start and exit, for the baseline

string vmm = Environment.ProcessPath!;
int runs = 20;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--vmm") vmm = Path.GetFullPath(args[i + 1]);
    else if (args[i] == "--runs") runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
}
return Benchmark.Run(vmm, runs);
