using System.Text.Json;
using Kraud.Agent.State;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// The host record's <c>wireguard</c> list: per Vpc resource its interface, public key and listen port. At first use it
/// is derived from what the host already has: every Vpc this host applied and has not deleted (&lt;stateDir&gt;/applied/vpc/)
/// names its interface and port, and the Vpc reconciler keeps the interface's private key in &lt;stateDir&gt;/vpc/. So a
/// restarted agent reports them in its first heartbeat, and a Vpc deleted while it was down is not reported. Reconciles
/// then set and clear entries.
/// </summary>
public sealed class VpcPublicKeys(string stateDir) : IHostReport
{
    public Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        report.Wireguard.AddRange(Current);
        return Task.CompletedTask;
    }

    private readonly object _lock = new();
    private SortedDictionary<string, VpcWireguard>? _byId;

    /// <summary>Every Vpc's entry, ordered by Vpc id.</summary>
    public List<VpcWireguard> Current
    {
        get
        {
            lock (_lock) return [.. Loaded().Values];
        }
    }

    public void Set(VpcWireguard entry)
    {
        lock (_lock) Loaded()[entry.Vpc] = entry;
    }

    public void Remove(string vpcId)
    {
        lock (_lock) Loaded().Remove(vpcId);
    }

    private SortedDictionary<string, VpcWireguard> Loaded() => _byId ??= FromStateDir();

    private SortedDictionary<string, VpcWireguard> FromStateDir()
    {
        var found = new SortedDictionary<string, VpcWireguard>(StringComparer.Ordinal);
        var appliedSpecs = new AppliedSpecs(stateDir);
        foreach (var applied in appliedSpecs.List(host: "").Where(k => k.Kind == ResourceKinds.Vpc))
            if (EntryOf(applied.Id, appliedSpecs.Load(applied)) is { } entry) found[applied.Id] = entry;
        return found;
    }

    private VpcWireguard? EntryOf(string id, JsonElement? spec)
    {
        if (spec is not { ValueKind: JsonValueKind.Object } s) return null;
        VpcSpec? vpc;
        try
        {
            vpc = s.Deserialize(VpcJsonContext.Default.VpcSpec);
        }
        catch (JsonException)
        {
            return null;
        }
        if (vpc is null || string.IsNullOrEmpty(vpc.Interface)) return null;
        return VpcKeyStore.TryLoad(stateDir, vpc.Interface)?.PublicKey().ToString() is { } key ? new VpcWireguard(id, vpc.Interface, key, vpc.ListenPort) : null;
    }
}
