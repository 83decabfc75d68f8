namespace Kraud.Agent.Hosting;

/// <summary>
/// One long-running part of the daemon (the work engine, the heartbeat, ...). Started in order after the
/// startup checks, stopped in reverse order. <see cref="StopAsync"/> gets the shutdown grace as its deadline.
/// </summary>
public interface IAgentService
{
    string Name { get; }

    /// <summary>Starts the service; returns once it is running (long work continues in the background).</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops taking new work and finishes or hands back what is running before the token fires.</summary>
    Task StopAsync(CancellationToken deadline);

    /// <summary>False when the service is wedged; the systemd watchdog stops pinging and systemd restarts us.</summary>
    bool IsHealthy => true;
}
