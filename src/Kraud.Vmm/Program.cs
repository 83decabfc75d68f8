using System.Reflection;
using System.Runtime.InteropServices;
using Kraud.Systemd;
using Microsoft.Extensions.Logging;
using VmmCore = Kraud.Agent.Kvm.Vmm.Vmm;

namespace Kraud.Vmm;

/// <summary>
/// kraud-vmm: runs one microVM in this process until the guest powers off. Kept apart from kraud-agent so it
/// starts in a few milliseconds and maps little; the work is in Kraud.Agent.Kvm.
/// </summary>
internal static class Program
{
    private const int Usage = 64; // EX_USAGE

    private const string Help = """
        kraud-vmm: run one microVM in this process (what kraud-vm@<id>.service starts; `kraud-agent vmm` execs it)

        Usage: kraud-vmm --config FILE [--log-level trace|debug|info|warning|error]
               kraud-vmm --help | --version

          --config FILE     the VM's launch file (contract section 8): kernel, initrd, cmdline, memory, vcpus,
                            serial log, disks and taps
          --log-level L     least severe level logged (default info); serial output is logged at info

        Boots the kernel through /dev/kvm, appends the serial console to the launch file's serialLog and logs it
        line by line (journal fields KRAUD_KIND=vm, KRAUD_ID=<id> when run under systemd). SIGTERM stops the VM.

        Exit codes: 0 the guest powered off; 65 the launch file was refused (nothing touched); 70 the guest
        faulted fatally (registers in the log); 71 the host could not provide KVM, a tap or a disk; 143 stopped
        by SIGTERM; 64 bad command line.
        """;

    private static int Main(string[] args)
    {
        string? config = null;
        var level = LogLevel.Information;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a is "--help" or "-h") { Console.Out.Write(Help); return 0; }
            if (a == "--version") { Console.Out.WriteLine("kraud-vmm " + Version()); return 0; }
            if (a.StartsWith("--config=", StringComparison.Ordinal)) config = a["--config=".Length..];
            else if (a == "--config" && i + 1 < args.Length) config = args[++i];
            else if (a == "--log-level" && i + 1 < args.Length)
                level = ParseLevel(args[++i]) ?? (LogLevel)(-1);
            else return Fail($"unexpected argument '{a}'");
        }
        if ((int)level < 0) return Fail("--log-level must be trace, debug, info, warning or error");
        if (string.IsNullOrEmpty(config)) return Fail("--config FILE is required");

        using var loggers = new MinimumLevelLoggerFactory(Provider(), level);
        using var stop = new CancellationTokenSource();
        // `systemctl stop` sends SIGTERM: stop the vCPUs and flush the serial log instead of dying mid-write.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        return VmmCore.Run(config, loggers, stop.Token);
    }

    private static ILoggerProvider Provider() => JournalStream.StderrIsJournal()
        ? new JournaldLoggerProvider(new JournalSocket(), "kraud-vmm", fallback: new StderrLoggerProvider())
        : new StderrLoggerProvider();

    private static LogLevel? ParseLevel(string s) => s switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => null,
    };

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"kraud-vmm: {message} (see kraud-vmm --help)");
        return Usage;
    }

    private static string Version()
    {
        string? v = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        int plus = v?.IndexOf('+') ?? -1;
        return v == null ? "0.0.0" : plus < 0 ? v : v[..plus];
    }
}
