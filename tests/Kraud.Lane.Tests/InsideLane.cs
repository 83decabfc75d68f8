namespace Kraud.Lane.Tests;

/// <summary>Whether this process runs inside the kernel lane (tests/lane/run puts kraud.lane=1 on the
/// guest's kernel command line). Kernel-lane tests call <see cref="Require"/> first, so run on the host by
/// mistake they fail saying why, instead of failing somewhere deep in zpool or ip.</summary>
public static class InsideLane
{
    public static bool Detect() =>
        File.Exists("/proc/cmdline") && File.ReadAllText("/proc/cmdline").Split(' ', '\n').Contains("kraud.lane=1");

    public static void Require()
    {
        if (!Detect())
            throw new InvalidOperationException(
                "This test needs the kernel lane (kraud.lane=1 is not on the kernel command line). It carries " +
                "[Trait(\"lane\",\"kernel\")]: run it with tests/lane/test-in-lane <test project>, or filter it out " +
                "on the host with --filter \"lane!=kernel\".");
    }
}
