using System.Runtime.InteropServices;

namespace Kraud.Testing;

/// <summary>The few libc calls tests need to drive processes like systemd would.</summary>
public static partial class Posix
{
    public const int SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    public static bool IsAlive(int pid) => kill(pid, 0) == 0 && !IsZombie(pid);

    private static bool IsZombie(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && stat.Length > close + 2 && stat[close + 2] == 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
