using Kraud.Libc;
using Kraud.Vmm.Boot;
using Kraud.Vmm.Ioctls;
using Kraud.Vmm.Launch;
using Kraud.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm;

/// <summary>
/// Runs one VM from its launch file, as a process does (`kraud-vmm --config FILE`): validates the file before
/// touching anything, builds the VM, runs it until the guest powers off or the caller stops it, and maps how
/// it ended to an exit code (<see cref="VmmExitCode"/>).
/// </summary>
public static class LaunchFileRunner
{
    /// <summary>What a VMM process tells its supervisor when the guest is about to run (sd_notify STATUS= beside READY=1).</summary>
    public const string GuestRunningStatus = "guest running";

    /// <summary>The Kind of a VM's log lines when its starter names none.</summary>
    public const string DefaultLogKind = "vm";

    /// <summary>Whether <paramref name="kind"/> may be a log kind: a short name that is safe as a journal field value.</summary>
    public static bool IsValidLogKind(string kind) =>
        kind.Length is > 0 and <= 32 && char.IsAsciiLetter(kind[0]) && kind.All(char.IsAsciiLetterOrDigit);

    /// <summary>Runs the VM on a dedicated thread of its own (for callers on the thread pool, like the agent's CLI).</summary>
    public static Task<int> RunAsync(string launchFilePath, ILoggerFactory loggers, CancellationToken cancellation,
        Action? guestRunning = null, string logKind = DefaultLogKind) =>
        Task.Factory.StartNew(() => Run(launchFilePath, loggers, cancellation, guestRunning, logKind), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Runs the VM on the calling thread, which becomes vCPU 0, and returns the exit code when it ends: the
    /// kraud-vmm process calls this from its main thread, so no thread start delays the first guest instruction.
    /// <paramref name="guestRunning"/> is called once, on vCPU 0's thread right before the guest's first
    /// instruction, and never for a VM that does not get that far (a refused launch file, a missing tap): the
    /// moment a supervisor may call the VM running. It is on the path to that instruction, so it must be quick.
    /// </summary>
    /// <remarks>
    /// <paramref name="logKind"/> is the Kind of every line about the VM (KRAUD_KIND in the journal; its Id is the launch
    /// file's id): what the VM is to whoever started it, e.g. "Pod" for a pod's VM, so its serial lines are found with
    /// that resource's own lines. The VMM attaches no meaning to it.
    /// </remarks>
    public static int Run(string launchFilePath, ILoggerFactory loggers, CancellationToken cancellation, Action? guestRunning = null,
        string logKind = DefaultLogKind)
    {
        var logger = loggers.CreateLogger("Kraud.Vmm");
        var launch = LaunchValidator.Load(launchFilePath, out var errors);
        if (launch == null)
        {
            logger.LogError("launch file {Path} refused: {Errors}", launchFilePath, string.Join("; ", errors));
            return VmmExitCode.InvalidLaunchFile;
        }
        var scope = new Dictionary<string, object> { ["Kind"] = logKind, ["Id"] = launch.Id };
        MicroVm vm;
        try
        {
            vm = MicroVm.Create(launch, logger, scope);
        }
        catch (KernelFormatException e)
        {
            using (logger.BeginScope(scope)) logger.LogError("kernel {Kernel} refused: {Message}", launch.Kernel, e.Message);
            return VmmExitCode.InvalidLaunchFile;
        }
        catch (Exception e) when (e is LibcException or KvmException or IOException or UnauthorizedAccessException)
        {
            using (logger.BeginScope(scope)) logger.LogError(e, "vm could not be built: {Message}", e.Message);
            return VmmExitCode.Unavailable;
        }
        catch (Exception e)
        {
            using (logger.BeginScope(scope)) logger.LogError(e, "vm could not be built (a bug): {Message}", e.Message);
            return VmmExitCode.InternalError;
        }
        using (vm) return vm.Run(cancellation, guestRunning);
    }
}
