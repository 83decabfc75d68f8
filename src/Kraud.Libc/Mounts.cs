using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>mount(2) and umount2(2) for the few mounts the agent makes itself: read-only bind mounts.</summary>
public static partial class Mounts
{
    private const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_REMOUNT = 32, MS_BIND = 4096, MS_PRIVATE = 1 << 18;
    private const int MNT_DETACH = 2;

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount_(string? source, string target, string? type, ulong flags, nint data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2_(string target, int flags);

    /// <summary>
    /// Binds <paramref name="source"/> at <paramref name="target"/> (an existing directory) read-only, nosuid and
    /// nodev, private so nothing propagates from or to it. A bind mount takes the read-only flag only on a remount.
    /// </summary>
    public static void BindReadOnly(string source, string target)
    {
        Native.Check(mount_(source, target, null, MS_BIND, 0), $"mount --bind {source} {target}");
        try
        {
            Native.Check(mount_(null, target, null, MS_PRIVATE, 0), $"mount --make-private {target}");
            Native.Check(mount_(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, 0), $"mount -o remount,bind,ro {target}");
        }
        catch
        {
            umount2_(target, MNT_DETACH);
            throw;
        }
    }

    /// <summary>Detaches the mount at <paramref name="target"/> (lazily, as `umount -l`); false when nothing is mounted there.</summary>
    public static bool Detach(string target)
    {
        if (umount2_(target, MNT_DETACH) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno is Errno.EINVAL or Errno.ENOENT) return false;
        throw new LibcException($"umount {target}", errno);
    }

    /// <summary>Mount points at or below <paramref name="directory"/> (from /proc/self/mountinfo), deepest first.</summary>
    public static IReadOnlyList<string> Below(string directory)
    {
        string prefix = directory.TrimEnd('/') + "/";
        var found = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            string point = fields[4].Replace("\\040", " ", StringComparison.Ordinal);
            if (point == directory.TrimEnd('/') || point.StartsWith(prefix, StringComparison.Ordinal)) found.Add(point);
        }
        return found.OrderByDescending(p => p.Length).ToList();
    }
}
