using System.Diagnostics;

namespace Kraud.Libc;

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

    /// <summary>Replaces <paramref name="psi"/>'s environment (a copy of ours by default) with the allowed part of it.</summary>
    public static ProcessStartInfo Apply(ProcessStartInfo psi)
    {
        var env = psi.Environment;
        foreach (string key in env.Keys.ToList())
            if (!IsAllowed(key)) env.Remove(key);
        return psi;
    }

    /// <summary>True for a variable a child may inherit (the allow-list and the locale's LC_* settings).</summary>
    public static bool IsAllowed(string name) =>
        Array.IndexOf(Allowed, name) >= 0 || name.StartsWith("LC_", StringComparison.Ordinal);
}
