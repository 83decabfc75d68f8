using System.Globalization;

namespace Kraud.Agent.Host;

/// <summary>The host's memory as the kernel reports it (MemTotal in /proc/meminfo): for the host record and what pods may hold.</summary>
public static class HostMemory
{
    /// <summary>MemTotal in bytes, or 0 when /proc/meminfo has none.</summary>
    public static long TotalBytes()
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}
