using Kraud.Agent.Kvm.Boot;
using Kraud.Agent.Kvm.Ioctls;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kvm.Vmm;

/// <summary>
/// The monitor of one VM, run as its own process (`kraud-agent vmm --config FILE`): validates the launch file
/// before touching anything, builds the VM, runs it until the guest powers off, and maps how it ended to an
/// exit code (<see cref="VmmExitCode"/>).
/// </summary>
public static class Vmm
{
    /// <summary>Runs the VM on a dedicated thread of its own (for callers on the thread pool, like the agent's CLI).</summary>
    public static Task<int> RunAsync(string launchFilePath, ILoggerFactory loggers, CancellationToken cancellation) =>
        Task.Factory.StartNew(() => Run(launchFilePath, loggers, cancellation), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Runs the VM on the calling thread, which becomes vCPU 0, and returns the exit code when it ends: the
    /// kraud-vmm process calls this from its main thread, so no thread start delays the first guest instruction.
    /// </summary>
    public static int Run(string launchFilePath, ILoggerFactory loggers, CancellationToken cancellation)
    {
        var logger = loggers.CreateLogger("Kraud.Agent.Kvm.Vmm");
        var launch = LaunchValidator.Load(launchFilePath, out var errors);
        if (launch == null)
        {
            logger.LogError("launch file {Path} refused: {Errors}", launchFilePath, string.Join("; ", errors));
            return VmmExitCode.InvalidLaunchFile;
        }
        var scope = new Dictionary<string, object> { ["Kind"] = "vm", ["Id"] = launch.Id };
        return Run(launch, logger, scope, cancellation);
    }

    private static int Run(LaunchFile launch, ILogger logger, Dictionary<string, object> scope, CancellationToken cancellation)
    {
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
        using (vm) return vm.Run(cancellation);
    }
}
