using System.Net;
using System.Net.Sockets;
using Kraud.Agent.Hosting;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>
/// The daemon's replication: the listener (when `replication.listen` is set) and the schedule's timer, started
/// before the work engine and stopped after it. A listen address this host cannot bind fails the start (exit 69):
/// a replica host that cannot receive must say so, not sit Ready.
/// </summary>
public sealed class ReplicationService(ReplicationReceiver receiver, ReplicationSchedule schedule, string? listen,
    ILogger<ReplicationService> logger) : IAgentService, IHostReport
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public string Name => "replication";

    /// <summary>Where the schedule (a source's targets) and the receiver (a replica's last snapshot) write status between reconciles.</summary>
    public IStatusAmender? Amender
    {
        set { schedule.Amender = value; receiver.Amender = value; }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (listen is not null)
        {
            var ep = IPEndPoint.Parse(listen);
            var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (ep.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = ep.Address.Equals(IPAddress.IPv6Any);
                socket.Bind(ep);
                socket.Listen(64);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new StartupException(ExitCodes.Unavailable, $"replication.listen {listen}: {e.Message}");
            }
            receiver.Start(socket);
            logger.LogInformation("replication listening on {Listen}", listen);
        }
        _loop = Task.Run(() => schedule.RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        report.VolumesBehindRpo = schedule.VolumesBehindRpo();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken deadline)
    {
        _stop.Cancel();
        try { await _loop.WaitAsync(deadline).ConfigureAwait(false); }
        catch (OperationCanceledException) { logger.LogWarning("a replication pass was still running at the end of the shutdown grace"); }
        await receiver.DisposeAsync().ConfigureAwait(false);
    }
}
