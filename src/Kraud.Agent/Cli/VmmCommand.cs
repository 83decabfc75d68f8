using System.CommandLine;
using Kraud.Agent.Config;
using Kraud.Agent.Hosting;
using Kraud.Vmm;

namespace Kraud.Agent.Cli;

internal static class VmmCommand
{
    public static Command Build()
    {
        var config = new Option<string>("--config") { Description = "The VM's launch file (contract section 8).", Required = true, HelpName = "FILE" };
        var logKind = new Option<string>("--log-kind")
        {
            Description = "The Kind of the VM's log lines (journal field KRAUD_KIND; default vm), e.g. Pod.", HelpName = "KIND",
            DefaultValueFactory = _ => LaunchFileRunner.DefaultLogKind,
        };
        logKind.Validators.Add(r =>
        {
            if (!LaunchFileRunner.IsValidLogKind(r.GetValueOrDefault<string>() ?? ""))
                r.AddError("--log-kind must be 1 to 32 letters and digits, starting with a letter");
        });
        var cmd = new Command("vmm",
            "Run one microVM (what systemd's kraud-vm@<id>.service starts, so VMs outlive agent restarts): " +
            "replaces this process with kraud-vmm from beside kraud-agent (see kraud-vmm --help), or runs the VM in " +
            "this process when kraud-vmm is missing. Boots the launch file's kernel through KVM with its disks and " +
            "taps, forwards the serial console to the journal and the serial log, and exits 0 when the guest powers " +
            "off, 65 when the launch file is invalid (nothing touched), 70 with a register dump when the guest " +
            "faults, 143 when stopped by SIGTERM.")
        {
            config, logKind,
        };
        // `--config` here is the launch file: this command does not read the agent's configuration.
        cmd.SetAction(async (parse, ct) =>
        {
            using var loggers = AgentLogging.Create(new LogConfig());
            // `systemctl stop kraud-vm@<id>` sends SIGTERM: stop the VM through the VMM, not by dying mid-write.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.Cancel();
            });
            // kraud-vm@.service is Type=notify: READY=1 when the guest is about to run, as kraud-vmm sends it.
            using var notifier = Kraud.Systemd.SystemdNotifier.FromEnvironment();
            return await LaunchFileRunner.RunAsync(parse.GetValue(config)!, loggers, stop.Token,
                notifier.IsEnabled ? () => notifier.Ready(LaunchFileRunner.GuestRunningStatus) : null, parse.GetValue(logKind)!);
        });
        return cmd;
    }
}
