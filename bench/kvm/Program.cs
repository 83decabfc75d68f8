using System.Globalization;
using Kraud.Bench.Kvm;

// Times exec -> READY=1 and -> the guest's first serial byte and measures RSS beyond guest memory for kraud-vmm (what
// kraud-vm@.service runs) and `kraud-agent vmm` (the contract's command, which execs kraud-vmm), interleaved in
// one run. Usage: Kraud.Bench.Kvm [--bin DIR (default artifacts/bin)] [--runs N (default 30)]
if (args is ["noop"]) return 0; // the runtime's own start and exit, for the baseline

string bin = "artifacts/bin";
int runs = 30;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--bin") bin = args[i + 1];
    else if (args[i] == "--runs") runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
}
bin = Path.GetFullPath(bin);
return Benchmark.Run(
[
    [Path.Combine(bin, "kraud-vmm"), "--config"],
    [Path.Combine(bin, "kraud-agent"), "vmm", "--config"],
], runs);
