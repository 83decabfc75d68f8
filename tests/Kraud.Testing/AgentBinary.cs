using System.Diagnostics;

namespace Kraud.Testing;

/// <summary>
/// The native AOT binaries the tests start: `kraud-agent` ($KRAUD_AGENT_BIN, else artifacts/bin/kraud-agent) and
/// `kraud-vmm` beside it, each published once on demand when missing (scripts/publish builds both before the tests).
/// </summary>
public static class AgentBinary
{
    private static readonly Lazy<string> s_path = new(Locate);
    private static readonly Lazy<string> s_vmm = new(LocateVmm);

    public static string Path => s_path.Value;

    /// <summary>kraud-vmm beside <see cref="Path"/>, where `kraud-agent vmm` looks for it.</summary>
    public static string VmmPath => s_vmm.Value;

    private static string Locate()
    {
        string? env = Environment.GetEnvironmentVariable("KRAUD_AGENT_BIN");
        if (!string.IsNullOrEmpty(env)) return File.Exists(env) ? env : throw new FileNotFoundException("KRAUD_AGENT_BIN points at a missing file", env);
        return Publish("src/Kraud.Agent", System.IO.Path.Combine(RepoPaths.Root, "artifacts", "bin", "kraud-agent"));
    }

    private static string LocateVmm()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, "kraud-vmm");
        return Environment.GetEnvironmentVariable("KRAUD_AGENT_BIN") is { Length: > 0 }
            ? (File.Exists(path) ? path : throw new FileNotFoundException("kraud-vmm is not beside KRAUD_AGENT_BIN", path))
            : Publish("src/kraud-vmm", path);
    }

    private static string Publish(string project, string path)
    {
        if (File.Exists(path)) return path;
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "publish", project, "-r", "linux-x64", "-c", "Release", "-o", "artifacts/bin" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(path)) throw new InvalidOperationException("publishing the AOT binary failed:\n" + output);
        return path;
    }
}
