using Kraud.Agent.Hosting;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// At the agent's start, before the control plane is reached: the VMs an earlier agent left running are adopted, so they
/// are followed (exits seen, restart policy applied) and counted from the first second, even while NATS is down or slow
/// (a restart during a control-plane outage must not leave the host's VMs unwatched until it ends). A failure (systemd
/// unreachable) only defers it, never stops the agent's start: the first reconcile or host record tries again.
/// </summary>
public sealed class PodAdoption(PodReconciler pods, ILogger logger) : IAgentService
{
    public string Name => "pod VMs";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try { await pods.AdoptLeftOverVmsAsync(cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("the VMs an earlier agent left are adopted at the first reconcile or host record instead: {Error}", e.Message);
        }
    }

    /// <summary>Nothing to stop: VMs outlive the agent.</summary>
    public Task StopAsync(CancellationToken deadline) => Task.CompletedTask;
}
