using System.Globalization;

namespace Kraud.Vmm.Launch;

/// <summary>
/// Reads and checks a launch file without touching KVM or any device: everything a bad file can get wrong
/// is reported here, so a refusal leaves the host as it was.
/// </summary>
public static class LaunchValidator
{
    public const int MaxVcpus = 254;
    public const int MaxVirtioDevices = 19;

    /// <summary>The parsed file, or null with the reasons it is refused.</summary>
    public static LaunchFile? Load(string path, out List<string> errors, long? hostMemoryBytes = null)
    {
        errors = [];
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"launch file {path}: {e.Message}");
            return null;
        }
        var parseErrors = new List<string>();
        var launch = LaunchFileReader.Parse(json, parseErrors);
        if (launch == null)
        {
            errors.AddRange(parseErrors.Select(e => $"launch file {path}: {e}"));
            return null;
        }
        Validate(launch, errors, hostMemoryBytes ?? HostMemoryBytes());
        return errors.Count == 0 ? launch : null;
    }

    public static void Validate(LaunchFile launch, List<string> errors, long hostMemoryBytes)
    {
        if (string.IsNullOrWhiteSpace(launch.Id) || launch.Id.Contains('/')) errors.Add($"id '{launch.Id}' must be a non-empty name without '/'");
        if (launch.Vcpus is < 1 or > MaxVcpus) errors.Add($"vcpus {launch.Vcpus} must be 1..{MaxVcpus}");
        if (launch.MemoryMiB < 16) errors.Add($"memoryMiB {launch.MemoryMiB} must be at least 16");
        else if (launch.MemoryMiB * 1024 * 1024 > hostMemoryBytes)
            errors.Add($"memoryMiB {launch.MemoryMiB} is more than the host has ({hostMemoryBytes / (1024 * 1024)} MiB)");
        RequireFile("kernel", launch.Kernel, errors);
        if (launch.Initrd != null) RequireFile("initrd", launch.Initrd, errors);
        if (launch.Cmdline.Contains('\0')) errors.Add("cmdline contains a NUL byte");
        if (launch.SerialLog is { } log && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(log))))
            errors.Add($"serialLog {log}: directory does not exist");
        for (int i = 0; i < launch.Disks.Count; i++)
        {
            var d = launch.Disks[i];
            if (d == null) { errors.Add($"disks[{i}] is null"); continue; }
            if (!File.Exists(d.Path)) errors.Add($"disks[{i}].path {d.Path} does not exist");
        }
        var taps = new HashSet<string>();
        for (int i = 0; i < launch.Nets.Count; i++)
        {
            var n = launch.Nets[i];
            if (n == null) { errors.Add($"nets[{i}] is null"); continue; }
            if (n.Tap.Length is 0 or > 15 || n.Tap.Contains('/') || n.Tap.Any(char.IsWhiteSpace)) errors.Add($"nets[{i}].tap '{n.Tap}' is not an interface name");
            else if (!taps.Add(n.Tap)) errors.Add($"nets[{i}].tap {n.Tap} is used twice");
            if (ParseMac(n.Mac) is not { } mac) errors.Add($"nets[{i}].mac '{n.Mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)");
            else if ((mac[0] & 1) != 0) errors.Add($"nets[{i}].mac {n.Mac} is a multicast address");
        }
        var tags = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < launch.Shares.Count; i++)
        {
            var s = launch.Shares[i];
            if (s == null) { errors.Add($"shares[{i}] is null"); continue; }
            int tagBytes = System.Text.Encoding.UTF8.GetByteCount(s.Tag);
            if (tagBytes is 0 or > 36 || s.Tag.Any(char.IsControl)) errors.Add($"shares[{i}].tag '{s.Tag}' must be 1..36 bytes without control characters");
            else if (!tags.Add(s.Tag)) errors.Add($"shares[{i}].tag {s.Tag} is used twice");
            // Whether the socket exists is not the file's fault: its daemon may be starting again beside a restarting VM.
            // The build waits a little for it and then fails with 69 (unavailable), which a supervisor retries.
            if (!s.Socket.StartsWith('/') || System.Text.Encoding.UTF8.GetByteCount(s.Socket) > 107 || s.Socket.Contains('\0'))
                errors.Add($"shares[{i}].socket '{s.Socket}' is not an absolute unix socket path (at most 107 bytes)");
        }
        int devices = launch.Disks.Count + launch.Nets.Count + launch.Shares.Count;
        if (devices > MaxVirtioDevices)
            errors.Add($"{devices} disks, nets and shares: at most {MaxVirtioDevices} (one IOAPIC pin each, 5..23)");
    }

    public static byte[]? ParseMac(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 6) return null;
        var mac = new byte[6];
        for (int i = 0; i < 6; i++)
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out mac[i])) return null;
        return mac;
    }

    /// <summary>MemTotal from /proc/meminfo.</summary>
    public static long HostMemoryBytes()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(9).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException("/proc/meminfo has no MemTotal");
    }

    private static void RequireFile(string field, string path, List<string> errors)
    {
        if (string.IsNullOrEmpty(path)) errors.Add($"{field} is empty");
        else if (!File.Exists(path)) errors.Add($"{field} {path} does not exist");
    }
}
