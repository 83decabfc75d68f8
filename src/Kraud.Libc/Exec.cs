using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>execv(2): replace this process with another program, keeping its pid (and so its systemd unit).</summary>
public static unsafe partial class Exec
{
    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true)]
    private static partial int execv_(byte* path, byte** argv);

    [LibraryImport("libc", EntryPoint = "sigprocmask", SetLastError = true)]
    private static partial int sigprocmask_(int how, ulong* set, ulong* oldset);

    /// <summary>
    /// Does not return on success. Our descriptors are all close-on-exec, so the new program starts with only
    /// stdin, stdout and stderr; the signal mask is cleared first, since it would otherwise be inherited.
    /// Throws <see cref="LibcException"/> when the exec fails (ENOENT, EACCES, ...).
    /// </summary>
    public static void Replace(string path, IReadOnlyList<string> argv)
    {
        var allocations = new List<nint>(argv.Count + 1);
        try
        {
            byte* p = Utf8(path, allocations);
            byte** args = stackalloc byte*[argv.Count + 1];
            for (int i = 0; i < argv.Count; i++) args[i] = Utf8(argv[i], allocations);
            args[argv.Count] = null;
            ulong* empty = stackalloc ulong[16]; // glibc's sigset_t is 1024 bits
            new Span<ulong>(empty, 16).Clear();
            sigprocmask_(2 /* SIG_SETMASK */, empty, null);
            execv_(p, args);
            throw LibcException.FromLastError($"execv {path}");
        }
        finally
        {
            foreach (var a in allocations) Marshal.FreeCoTaskMem(a);
        }
    }

    private static byte* Utf8(string s, List<nint> allocations)
    {
        nint p = Marshal.StringToCoTaskMemUTF8(s);
        allocations.Add(p);
        return (byte*)p;
    }
}
