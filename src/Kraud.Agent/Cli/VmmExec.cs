using Kraud.Libc;

namespace Kraud.Agent.Cli;

/// <summary>
/// `kraud-agent vmm --config FILE` (the contract's command) becomes kraud-vmm in the same process, so its monitor
/// maps only the VMM's code. The native binary does this earlier still, before the runtime starts
/// (Native/vmm-exec.c); this is the same step for builds without that object (dotnet run) and its fallback.
/// </summary>
internal static class VmmExec
{
    public const string BinaryName = "kraud-vmm";

    /// <summary>Where kraud-vmm is looked for: beside this binary (/usr/bin, artifacts/bin), then the package's.</summary>
    public static IEnumerable<string> Candidates()
    {
        if (Path.GetDirectoryName(Environment.ProcessPath) is { } own) yield return Path.Combine(own, BinaryName);
        yield return "/usr/bin/" + BinaryName;
    }

    public static string? Locate() => Candidates().FirstOrDefault(File.Exists);

    /// <summary>
    /// Replaces this process with kraud-vmm when <paramref name="args"/> is a plain `vmm --config FILE`; returns
    /// (and the CLI runs the VM in-process, or explains the command line) when kraud-vmm is missing or the
    /// arguments are anything else.
    /// </summary>
    public static void TryReplace(string[] args)
    {
        if (args.Length < 2 || args[0] != "vmm" || args.Any(a => a is "--help" or "-h" or "-?")) return;
        if (Locate() is not { } vmm) return;
        try
        {
            Exec.Replace(vmm, [vmm, .. args[1..]]);
        }
        catch (LibcException e)
        {
            Console.Error.WriteLine($"kraud-agent: exec {vmm} failed ({e.Message}); running the VM in this process");
        }
    }
}
