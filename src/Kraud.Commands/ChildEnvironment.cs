using System.Collections;

namespace Kraud.Commands;

/// <summary>
/// The environment every program the agent starts gets: a short allow-list of the agent's own variables, nothing
/// else. The agent's environment carries its configuration (KRAUD_*, the NATS password and token among them) and
/// systemd's hand-over (CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, ...); a child could read none of it back, but anyone
/// who may read the child's /proc/PID/environ could, and a daemon such as wireguard-go keeps it for its lifetime.
/// </summary>
public static class ChildEnvironment
{
    /// <summary>What a child may see: where programs are, and the locale and time zone it prints in.</summary>
    private static readonly string[] Allowed = ["PATH", "LANG", "LANGUAGE", "TZ", "HOME", "TMPDIR"];

    /// <summary>
    /// The changes to our environment that make a child's (CliWrap's WithEnvironmentVariables: null removes an
    /// inherited variable): every variable not allowed removed, then <paramref name="set"/> on top.
    /// </summary>
    public static Dictionary<string, string?> Overrides(IReadOnlyDictionary<string, string>? set = null)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry v in Environment.GetEnvironmentVariables())
            if (v.Key is string name && !IsAllowed(name)) overrides[name] = null;
        if (set is not null)
            foreach (var (name, value) in set) overrides[name] = value;
        return overrides;
    }

    /// <summary>True for a variable a child may inherit (the allow-list and the locale's LC_* settings).</summary>
    public static bool IsAllowed(string name) =>
        Array.IndexOf(Allowed, name) >= 0 || name.StartsWith("LC_", StringComparison.Ordinal);
}
