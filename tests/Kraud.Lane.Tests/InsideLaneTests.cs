namespace Kraud.Lane.Tests;

/// <summary>Lane detection on the host: the kernel-lane tests must fail with a clear reason here, not run.</summary>
public sealed class InsideLaneTests
{
    [Fact]
    public void Outside_the_lane_kernel_tests_refuse_with_a_reason()
    {
        // This test carries no lane trait, so it runs on the host only (the lane run selects lane=kernel).
        Assert.False(InsideLane.Detect(), "kraud.lane=1 is on this kernel's command line, but this is the host run");
        var e = Assert.Throws<InvalidOperationException>(InsideLane.Require);
        Assert.Contains("needs the kernel lane", e.Message);
        Assert.Contains("test-in-lane", e.Message);
    }
}
