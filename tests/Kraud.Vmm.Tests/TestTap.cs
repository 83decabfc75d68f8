using System.Diagnostics;

namespace Kraud.Vmm.Tests;

/// <summary>A tap made with `ip tuntap add` for one test and removed after: made by iproute2, not by our TunTap, so the VMM is shown to work with a tap an operator made.</summary>
public sealed class TestTap : IDisposable
{
    public TestTap()
    {
        Name = $"ktk{Environment.ProcessId % 10000}{Random.Shared.Next(1000)}";
        Ip("tuntap", "add", "dev", Name, "mode", "tap", "vnet_hdr");
        // No IPv6 on the tap: the test's frames are the only traffic the guest should see.
        var ipv6 = $"/proc/sys/net/ipv6/conf/{Name}/disable_ipv6";
        if (File.Exists(ipv6)) File.WriteAllText(ipv6, "1");
        Ip("link", "set", Name, "up");
    }

    public string Name { get; }

    private static void Ip(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/sbin/ip") { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {err}");
    }

    public void Dispose()
    {
        try { Ip("link", "del", Name); } catch (InvalidOperationException) { }
    }
}
