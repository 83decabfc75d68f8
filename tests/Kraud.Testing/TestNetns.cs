using System.Diagnostics;
using Kraud.Net.Rtnl;
using Kraud.Libc;

namespace Kraud.Testing;

/// <summary>A named network namespace made with `ip netns add` for one test and removed after it.</summary>
public sealed class TestNetns : IDisposable
{
    public TestNetns(string prefix = "kn")
    {
        EnsureTunInLane();
        Name = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
        Cmd.Run("ip", "netns", "add", Name);
        Ns = NetNs.OpenNamed(Name);
        Rtnl = RtNetlink.Open(Ns);
        Rtnl.LinkSetUp("lo");
    }

    /// <summary>
    /// The lane's kernel loads tun only on demand and its /dev has no node until it is loaded: taps and wireguard-go
    /// (which open /dev/net/tun) need the module loaded first. Elsewhere /dev/net/tun is the host's business.
    /// </summary>
    private static void EnsureTunInLane()
    {
        if (File.Exists("/dev/net/tun") || !Directory.Exists("/run/kraud-lane")) return;
        Cmd.Run("modprobe", "tun");
        if (!File.Exists("/dev/net/tun"))
        {
            Directory.CreateDirectory("/dev/net");
            Cmd.Run("mknod", "/dev/net/tun", "c", "10", "200");
        }
    }

    public string Name { get; }
    public NetNs Ns { get; }
    public RtNetlink Rtnl { get; }

    /// <summary>Runs a command inside the namespace (ip netns exec NAME argv...).</summary>
    public string Exec(params string[] argv) => Cmd.Run(["ip", "netns", "exec", Name, .. argv]);

    public (int Code, string Output) TryExec(params string[] argv) => Cmd.TryRun(["ip", "netns", "exec", Name, .. argv]);

    public void Dispose()
    {
        Rtnl.Dispose();
        Ns.Dispose();
        Cmd.TryRun("ip", "netns", "del", Name);
    }
}

/// <summary>Runs a program from an argv array (never a shell) and returns its output.</summary>
public static class Cmd
{
    public static string Run(params string[] argv)
    {
        var (code, output) = TryRun(argv);
        if (code != 0) throw new InvalidOperationException($"{string.Join(' ', argv)} exited {code}: {output}");
        return output;
    }

    public static (int Code, string Output) TryRun(params string[] argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in argv[1..]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
