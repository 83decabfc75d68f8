using System.Text.Json;
using Kraud.Agent.State;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// The WireGuard public key for the host record, per Vpc resource. At first use it is derived from what the host
/// already has: every Vpc this host applied and has not deleted (&lt;stateDir&gt;/applied/vpc/) names its interface,
/// whose private key the Vpc reconciler keeps in &lt;stateDir&gt;/vpc/. So a restarted agent reports the key in its
/// first heartbeat, and a Vpc deleted while it was down is not reported. Reconciles then set and clear entries.
/// </summary>
public sealed class VpcPublicKeys(string stateDir) : IHostReport
{
    public Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        report.WireguardPublicKey ??= Current;
        return Task.CompletedTask;
    }

    private readonly object _lock = new();
    private SortedDictionary<string, string>? _byId;

    /// <summary>The key of the Vpc with the smallest id (a host has one Vpc; the order only makes more than one deterministic).</summary>
    public string? Current
    {
        get
        {
            lock (_lock)
            {
                var all = Loaded();
                return all.Count == 0 ? null : all.First().Value;
            }
        }
    }

    public void Set(string vpcId, string publicKey)
    {
        lock (_lock) Loaded()[vpcId] = publicKey;
    }

    public void Remove(string vpcId)
    {
        lock (_lock) Loaded().Remove(vpcId);
    }

    private SortedDictionary<string, string> Loaded() => _byId ??= FromStateDir();

    private SortedDictionary<string, string> FromStateDir()
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var appliedSpecs = new AppliedSpecs(stateDir);
        foreach (var applied in appliedSpecs.List(host: "").Where(k => k.Kind == ResourceKinds.Vpc))
            if (PublicKeyOf(appliedSpecs.Load(applied)) is { } key) found[applied.Id] = key;
        return found;
    }

    private string? PublicKeyOf(JsonElement? spec)
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
        return VpcKeyStore.TryLoad(stateDir, vpc.Interface)?.PublicKey().ToString();
    }
}
