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
    public static Task<int> RunAsync(string launchFilePath, ILoggerFactory loggers, CancellationToken cancellation)
    {
        var logger = loggers.CreateLogger("Kraud.Agent.Kvm.Vmm");
        var launch = LaunchValidator.Load(launchFilePath, out var errors);
        if (launch == null)
        {
            logger.LogError("launch file {Path} refused: {Errors}", launchFilePath, string.Join("; ", errors));
            return Task.FromResult(VmmExitCode.InvalidLaunchFile);
        }
        var scope = new Dictionary<string, object> { ["Kind"] = "vm", ["Id"] = launch.Id };
        return Task.Factory.StartNew(() => Run(launch, logger, scope, cancellation), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
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
            return VmmExitCode.HostError;
        }
        catch (Exception e)
        {
            using (logger.BeginScope(scope)) logger.LogError(e, "vm could not be built (a bug): {Message}", e.Message);
            return VmmExitCode.HostError;
        }
        using (vm) return vm.Run(cancellation);
    }
}
