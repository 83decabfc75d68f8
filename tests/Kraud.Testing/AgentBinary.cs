using System.Diagnostics;

namespace Kraud.Testing;

/// <summary>
/// The native AOT `kraud-agent` the tests start: $KRAUD_AGENT_BIN, else artifacts/bin/kraud-agent, published
/// once on demand when missing (scripts/test publishes it before the tests run).
/// </summary>
public static class AgentBinary
{
    private static readonly Lazy<string> s_path = new(Locate);

    public static string Path => s_path.Value;

    private static string Locate()
    {
        string? env = Environment.GetEnvironmentVariable("KRAUD_AGENT_BIN");
        if (!string.IsNullOrEmpty(env)) return File.Exists(env) ? env : throw new FileNotFoundException("KRAUD_AGENT_BIN points at a missing file", env);
        string path = System.IO.Path.Combine(RepoPaths.Root, "artifacts", "bin", "kraud-agent");
        if (File.Exists(path)) return path;
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "publish", "src/Kraud.Agent", "-f", "net9.0", "-r", "linux-x64", "-c", "Release", "-o", "artifacts/bin" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(path)) throw new InvalidOperationException("publishing the AOT binary failed:\n" + output);
        return path;
    }
}
