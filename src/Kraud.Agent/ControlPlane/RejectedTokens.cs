using Kraud.Agent.Kinds;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Counts work tokens terminated because their subject names no resource a status can be written for (a kind or
/// id no status key can carry, another host). They have no status, so the host record is where the control plane
/// sees them.
/// </summary>
public sealed class RejectedTokens : IHostReport
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Add() => Interlocked.Increment(ref _count);

    public Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        report.RejectedTokens = Count;
        return Task.CompletedTask;
    }
}
