
namespace Kraud.Vmm.Tests;

/// <summary>A guest that never powers off is stopped by cancellation: the vCPU is kicked out of KVM_RUN.</summary>
public sealed class StopTests
{
    [Fact]
    public async Task IdleGuest_HaltedInKernel_StopsOnCancellation()
    {
        using var vm = new VmHarness();
        var path = Path.Combine(vm.Dir, "launch.json");
        await File.WriteAllTextAsync(path, vm.Launch(TestGuests.Path("idle")).ToJsonString());
        using var cts = new CancellationTokenSource();
        var run = LaunchFileRunner.RunAsync(path, vm.Logs, cts.Token);
        await Kraud.Testing.Deadline.WaitUntilAsync(() => vm.Serial.Contains("idle guest up"), TimeSpan.FromSeconds(20), "the idle guest to boot");
        Assert.False(run.IsCompleted);
        cts.Cancel();
        int code = await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(VmmExitCode.Stopped, code);
    }
}
