namespace Kraud.Agent.Host;

/// <summary>Whether a kernel module is loaded, built in, or loadable for the running kernel.</summary>
public sealed class KernelModules(string sysModule = "/sys/module", string libModules = "/lib/modules")
{
    private readonly Lazy<HashSet<string>> _available = new(() => ReadModulesDep(libModules));

    public static string Release => File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "unknown";

    public bool IsLoaded(string name) => Directory.Exists(Path.Combine(sysModule, name.Replace('-', '_')));

    public bool IsAvailable(string name) => IsLoaded(name) || _available.Value.Contains(name.Replace('-', '_'));

    private static HashSet<string> ReadModulesDep(string libModules)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in new[] { "modules.dep", "modules.builtin" })
        {
            string path = Path.Combine(libModules, Release, file);
            if (!File.Exists(path)) continue;
            foreach (string line in File.ReadLines(path))
            {
                int colon = line.IndexOf(':');
                string module = colon < 0 ? line : line[..colon];
                string name = Path.GetFileName(module);
                int dot = name.IndexOf(".ko", StringComparison.Ordinal);
                if (dot > 0) set.Add(name[..dot].Replace('-', '_'));
            }
        }
        return set;
    }
}
