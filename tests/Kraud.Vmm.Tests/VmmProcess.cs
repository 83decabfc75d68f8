using System.Diagnostics;
using Kraud.Testing;

namespace Kraud.Vmm.Tests;

/// <summary>Starts the published VMM as a supervisor would, `kraud-agent vmm` or kraud-vmm itself, and collects its end.</summary>
public static class VmmProcess
{
    public static Process Start(bool viaAgent, params string[] args) => Start(viaAgent, null, args);

    /// <summary>With <paramref name="notify"/>, the VMM's NOTIFY_SOCKET; without, it has none, even if this test run has one.</summary>
    public static Process Start(bool viaAgent, NotifyListener? notify, params string[] args)
    {
        var psi = new ProcessStartInfo(viaAgent ? AgentBinary.Path : AgentBinary.VmmPath)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        if (viaAgent) psi.ArgumentList.Add("vmm");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["KRAUD_AGENT_CONFIG"] = "/nonexistent/agent.json"; // the VMM must not read the agent's config
        if (notify != null) psi.Environment["NOTIFY_SOCKET"] = notify.Address;
        else psi.Environment.Remove("NOTIFY_SOCKET");
        return Process.Start(psi)!;
    }

    public static async Task<(int Code, string Stderr, string Stdout)> Finish(Process p, TimeSpan timeout)
    {
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            throw new TimeoutException($"the VMM did not exit within {timeout}: {await stderr}");
        }
        return (p.ExitCode, await stderr, await stdout);
    }
}
