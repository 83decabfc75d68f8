using Kraud.Agent.Status;
using Kraud.Nats.JetStream;

namespace Kraud.Agent.Work;

/// <summary>
/// Orphans for the host record (contract section 3.3): resources this host applied and never deleted whose desired
/// state is gone from KRAUD_DESIRED. They are reported as "Kind/id", never deleted: what to do is the control
/// plane's call. Checked at the first heartbeat and then at most once a minute (one direct get per resource).
/// </summary>
public sealed class OrphanReport(NatsJSContext js, AppliedSpecs applied, string host, TimeProvider clock) : IHostReport
{
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private List<string> _orphans = [];
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;

    public async Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        if (clock.GetUtcNow() - _checkedAt >= Refresh)
        {
            var found = new List<string>();
            foreach (string entry in applied.List())
            {
                int slash = entry.IndexOf('/');
                var key = new ResourceKey(host, entry[..slash], entry[(slash + 1)..]);
                if (await js.GetLastMsgBySubjectAsync(StreamLayout.Desired, key.DesiredSubject, ct) is null)
                    found.Add($"{key.Kind}/{key.Id}");
            }
            found.Sort(StringComparer.Ordinal);
            _orphans = found;
            _checkedAt = clock.GetUtcNow();
        }
        report.Orphans.AddRange(_orphans);
    }
}
