using System.Runtime.InteropServices;

namespace Kraud.Testing;

/// <summary>kill(2) for test processes (SIGSTOP/SIGCONT/SIGTERM/SIGUSR2); this project references nothing of src.</summary>
public static partial class ProcessSignals
{
    public const int SigKill = 9;
    public const int SigUsr2 = 12;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int sig);

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (Kill(pid, 0) != 0) return false;
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return !(close > 0 && stat.Length > close + 2 && stat[close + 2] == 'Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
