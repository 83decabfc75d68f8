using System.Diagnostics;

namespace Kraud.Vmm.Tests;

/// <summary>
/// Builds the freestanding test guests (tests/guests, gcc + make) once per test run into a directory of the
/// test output, and hands out their paths. Fails loudly when gcc or make is missing.
/// </summary>
public static class TestGuests
{
    private static readonly Lazy<string> OutDir = new(Build);

    public static string Path(string name, string extension = ".elf") => System.IO.Path.Combine(OutDir.Value, name + extension);

    public static string SourceDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "guests");
            if (File.Exists(System.IO.Path.Combine(candidate, "Makefile"))) return candidate;
        }
        throw new InvalidOperationException($"tests/guests/Makefile not found above {AppContext.BaseDirectory}");
    }

    private static string Build()
    {
        foreach (var tool in new[] { "gcc", "make" })
            if (!File.Exists($"/usr/bin/{tool}"))
                throw new InvalidOperationException($"the KVM test guests need /usr/bin/{tool}: run scripts/ci.d/kvm.sh (apt-get install gcc make)");
        var outDir = System.IO.Path.Combine(AppContext.BaseDirectory, "guests");
        var psi = new ProcessStartInfo("/usr/bin/make") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-s", "-C", SourceDir(), $"OUT={outDir}" }) psi.ArgumentList.Add(a);
        using var make = Process.Start(psi)!;
        var stderr = make.StandardError.ReadToEndAsync();
        var stdout = make.StandardOutput.ReadToEnd();
        make.WaitForExit();
        if (make.ExitCode != 0) throw new InvalidOperationException($"building the test guests failed ({make.ExitCode}):\n{stdout}{stderr.Result}");
        return outDir;
    }
}
