using Kraud.Agent.Host;
using Kraud.Agent.Kinds;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.ControlPlane;

/// <summary>Writes this host's record to KRAUD_HOSTS at start and every 10 s (contract section 5).</summary>
public sealed class HostHeartbeat(INatsKVStore bucket, string host, HostProbes probes, IReadOnlyList<IHostReport> parts,
    TimeProvider clock, ILogger<HostHeartbeat> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly DateTimeOffset _startedAt = clock.GetUtcNow();

    public bool Draining { get; set; }

    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            await BeatAsync(ct);
        }
        while (await Tick(timer, ct));
    }

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task BeatAsync(CancellationToken ct)
    {
        try
        {
            var record = await BuildAsync(ct);
            await bucket.PutAsync(host, record, Serializers.HostRecord, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (NatsException e)
        {
            logger.LogWarning("heartbeat not written: {Error}", e.Message);
        }
    }

    private async Task<HostRecord> BuildAsync(CancellationToken ct)
    {
        var report = new HostReportBuilder();
        foreach (var part in parts)
        {
            try
            {
                await part.ContributeAsync(report, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("{Part} could not report for the heartbeat: {Error}", part.GetType().Name, e.Message);
            }
        }
        var caps = probes.Capabilities();
        return new HostRecord
        {
            Host = host,
            AgentVersion = Agent.AgentVersion.Value,
            StartedAt = _startedAt,
            HeartbeatAt = clock.GetUtcNow(),
            Draining = Draining,
            Capabilities = new HostCapabilities(caps.Kvm, caps.Zfs, caps.Wireguard, caps.Ip6tnl, caps.Nfs),
            Resources = new HostResources(Environment.ProcessorCount, HostMemory.TotalBytes(), report.Pools),
            Wireguard = report.Wireguard,
            Orphans = report.Orphans,
            RejectedTokens = report.RejectedTokens,
            Pods = report.Pods,
            VolumesBehindRpo = report.VolumesBehindRpo,
        };
    }

}
