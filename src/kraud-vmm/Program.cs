using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Kraud.Libc;
using Kraud.Systemd;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Cli;

/// <summary>
/// kraud-vmm: runs one microVM in this process until the guest powers off. Kept apart from kraud-agent so it
/// starts in a few milliseconds and maps little; the work is in the Kraud.Vmm library.
/// </summary>
internal static class Program
{
    private const int Usage = 64; // EX_USAGE

    private const string Help = """
        kraud-vmm: run one microVM in this process (what kraud-vm@<id>.service starts; `kraud-agent vmm` execs it)

        Usage: kraud-vmm --config FILE [--log-level trace|debug|info|warning|error] [--log-kind KIND]
               kraud-vmm --help | --version

          --config FILE     the VM's launch file (contract section 8): kernel, initrd, cmdline, memory, vcpus,
                            serial log, disks and taps
          --log-level L     least severe level logged (default info); serial output is logged at info
          --log-kind KIND   the Kind of its log lines (journal field KRAUD_KIND; default vm): what the VM is to
                            its starter, e.g. Pod, so its lines are found with that resource's (letters, digits)

        Boots the kernel through /dev/kvm, appends the serial console to the launch file's serialLog and logs it
        line by line (journal fields KRAUD_KIND=<log kind>, KRAUD_ID=<id> when run under systemd). With
        NOTIFY_SOCKET set it sends READY=1 (STATUS=guest running) right before the guest's first instruction, and
        never for a VM that does not get there. SIGTERM stops the VM.

        Exit codes: 0 the guest powered off; 65 the launch file was refused (nothing touched); 70 the guest
        faulted fatally (registers in the log); 69 the host could not provide KVM, a tap or a disk; 143 stopped
        by SIGTERM; 64 bad command line.
        """;

    private static int Main(string[] args)
    {
        string? config = null;
        var level = LogLevel.Information;
        string logKind = LaunchFileRunner.DefaultLogKind;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a is "--help" or "-h") { Write(1, Help); return 0; }
            if (a == "--version") { Write(1, $"kraud-vmm {BuildInfo.Version}\n"); return 0; }
            if (a.StartsWith("--config=", StringComparison.Ordinal)) config = a["--config=".Length..];
            else if (a == "--config" && i + 1 < args.Length) config = args[++i];
            else if (a == "--log-kind" && i + 1 < args.Length)
            {
                logKind = args[++i];
                if (!LaunchFileRunner.IsValidLogKind(logKind)) return Fail("--log-kind must be 1 to 32 letters and digits, starting with a letter");
            }
            else if (a == "--log-level" && i + 1 < args.Length)
                level = LogLevels.Parse(args[++i]) ?? (LogLevel)(-1);
            else return Fail($"unexpected argument '{a}'");
        }
        if ((int)level < 0) return Fail("--log-level must be " + LogLevels.Accepted);
        if (string.IsNullOrEmpty(config)) return Fail("--config FILE is required");

        using var loggers = new MinimumLevelLoggerFactory(Provider(), level);
        using var stop = new CancellationTokenSource();
        // `systemctl stop` sends SIGTERM: stop the vCPUs and flush the serial log instead of dying mid-write.
        using var signals = OnStopSignal(stop.Cancel);
        // READY=1 when the guest is about to run (kraud-vm@.service is Type=notify; the agent's child supervisor
        // passes a NOTIFY_SOCKET of its own), so a supervisor calls the VM running only once the guest runs.
        using var notifier = SystemdNotifier.FromEnvironment();
        Action? guestRunning = notifier.IsEnabled ? () => notifier.Ready(LaunchFileRunner.GuestRunningStatus) : null;
        return LaunchFileRunner.Run(config, loggers, stop.Token, guestRunning, logKind);
    }

    private static readonly int[] StopSignals = [BlockedSignals.SIGTERM, BlockedSignals.SIGINT];

    /// <summary>
    /// SIGTERM and SIGINT arrive blocked (C/signals.c) and are taken on a thread of our own. A JIT build
    /// (dotnet run) has no native constructor: there the runtime's registration does it, and the AOT compiler
    /// drops that branch with the thread pool it needs.
    /// </summary>
    private static IDisposable? OnStopSignal(Action stop)
    {
        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop(); });
            var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop(); });
            return new Both(term, interrupt);
        }
        // Blocked from the start unless something cleared the mask; then at least every thread started from
        // here on has them blocked.
        if (!BlockedSignals.AreBlocked(StopSignals)) BlockedSignals.Block(StopSignals);
        BlockedSignals.StartWaiter(StopSignals, _ => stop());
        return null;
    }

    private sealed class Both(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose() { a.Dispose(); b.Dispose(); }
    }

    private static ILoggerProvider Provider() => JournalStream.StderrIsJournal()
        ? new JournaldLoggerProvider(new JournalSocket(), "kraud-vmm", fallback: new StderrLoggerProvider())
        : new StderrLoggerProvider();


    private static int Fail(string message)
    {
        Write(2, $"kraud-vmm: {message} (see kraud-vmm --help)\n");
        return Usage;
    }

    // stdout and stderr by write(2): System.Console would bring terminal handling into the binary.
    private static void Write(int fd, string text) => Native.WriteAll(fd, Encoding.UTF8.GetBytes(text));
}
