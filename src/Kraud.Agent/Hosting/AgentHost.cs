using System.Runtime.InteropServices;
using Kraud.Systemd;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Hosting;

/// <summary>
/// Runs the daemon's services: start them in order, tell systemd READY=1, ping the watchdog while they are
/// healthy, and on SIGTERM/SIGINT send STOPPING=1 and stop them in reverse order within the shutdown grace.
/// Workloads (VMs, mounts, interfaces) are not services here: stopping the agent leaves them running.
/// </summary>
public sealed class AgentHost(
    IReadOnlyList<IAgentService> services,
    SystemdNotifier notifier,
    AgentStatus status,
    TimeSpan shutdownGrace,
    ILogger<AgentHost> logger)
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Fires when shutdown was requested (a signal or <see cref="RequestStop"/>).</summary>
    public CancellationToken Stopping => _stopping.Token;

    public void RequestStop() => _stopping.Cancel();

    public async Task<int> RunAsync()
    {
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        var started = new List<IAgentService>();
        try
        {
            foreach (var s in services)
            {
                logger.LogDebug("starting {Service}", s.Name);
                await s.StartAsync(_stopping.Token);
                started.Add(s);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            logger.LogInformation("stop requested during startup");
        }
        catch
        {
            // A failed start must not leave the parts already started (a dev nats-server) behind.
            await StopAllAsync(started);
            throw;
        }

        WatchdogPinger? watchdog = null;
        if (!_stopping.IsCancellationRequested)
        {
            // READY carries whatever the services report by now (connecting, serving, ...).
            notifier.Ready(status.Current);
            if (WatchdogPinger.TimeoutFromEnvironment() is { } timeout)
            {
                watchdog = new WatchdogPinger(notifier, timeout, () => started.TrueForAll(s => s.IsHealthy));
                watchdog.Start();
                logger.LogDebug("systemd watchdog every {IntervalMs} ms", (int)watchdog.Interval.TotalMilliseconds);
            }
            try
            {
                await Task.Delay(Timeout.Infinite, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        notifier.Stopping("Stopping: finishing running work");
        status.Set("Stopping: finishing running work");
        int exit = await StopAllAsync(started);
        watchdog?.Dispose();
        logger.LogInformation("stopped");
        return exit;
    }

    private async Task<int> StopAllAsync(List<IAgentService> started)
    {
        int exit = ExitCodes.Ok;
        using var deadline = new CancellationTokenSource(shutdownGrace);
        for (int i = started.Count - 1; i >= 0; i--)
        {
            try
            {
                await started[i].StopAsync(deadline.Token);
            }
            catch (Exception e)
            {
                logger.LogError(e, "stopping {Service} failed", started[i].Name);
                exit = ExitCodes.Failure;
            }
        }
        return exit;
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // we exit on our own terms, after the services have stopped
        logger.LogInformation("received {Signal}, shutting down", context.Signal);
        _stopping.Cancel();
    }
}
