using Kraud.Libc;

namespace Kraud.Net.Sysctl;

/// <summary>
/// Network sysctls of one namespace (/proc/sys/net/...). Which namespace a /proc/sys/net file belongs to is decided when
/// it is opened, by the opening thread's namespace: so files of <c>ns</c> are opened on a thread inside it
/// (<see cref="NetNs.Run{T}"/>), never by setns on the caller's thread.
/// </summary>
public static class NetSysctl
{
    /// <summary>One setting: <paramref name="Key"/> below /proc/sys/net ("ipv4/conf/kp1/rp_filter").</summary>
    public readonly record struct Setting(string Key, string Value);

    public static Setting Ipv4(string device, string name, int value) => new($"ipv4/conf/{device}/{name}", value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    public static Setting Ipv6(string device, string name, int value) => new($"ipv6/conf/{device}/{name}", value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The value of <paramref name="key"/> in <paramref name="ns"/> (the caller's when null), trimmed.</summary>
    public static string Read(NetNs? ns, string key) => InNamespace(ns, () => File.ReadAllText(PathOf(key)).Trim());

    /// <summary>
    /// Writes each setting whose value differs (one thread in <paramref name="ns"/> for all of them); returns the keys it
    /// wrote, so an unchanged device costs reads only.
    /// </summary>
    public static List<string> Ensure(NetNs? ns, IReadOnlyCollection<Setting> settings) => settings.Count == 0 ? [] : InNamespace(ns, () =>
    {
        var written = new List<string>();
        foreach (var s in settings)
        {
            string path = PathOf(s.Key);
            if (File.ReadAllText(path).Trim() == s.Value) continue;
            File.WriteAllText(path, s.Value + "\n");
            written.Add(s.Key);
        }
        return written;
    });

    private static string PathOf(string key)
    {
        if (key.Contains("..", StringComparison.Ordinal) || key.StartsWith('/')) throw new ArgumentException($"'{key}' is not a key below /proc/sys/net", nameof(key));
        return "/proc/sys/net/" + key;
    }

    private static T InNamespace<T>(NetNs? ns, Func<T> work) => ns is null ? work() : ns.Run(work);
}
