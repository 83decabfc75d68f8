namespace Kraud.Commands;

/// <summary>
/// Finds a program the way every caller of the agent does (probes, doctor, wireguard-go, nats-server): the first
/// executable file of that name on PATH, then in the sbin and bin directories, which root's PATH may lack under
/// systemd.
/// </summary>
public static class ExecutablePath
{
    private static readonly string[] Fallback = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>The full path of <paramref name="name"/>, or null when no executable file has that name.</summary>
    public static string? Find(string name)
    {
        if (name.Length == 0 || name.Contains('/') || name.Contains('\0')) throw new ArgumentException($"not a program name: {name}", nameof(name));
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(Fallback);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, name);
            if (IsExecutableFile(candidate)) return candidate;
        }
        return null;
    }

    private static bool IsExecutableFile(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
