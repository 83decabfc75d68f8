using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Pod;

public sealed partial class PodReconciler
{
    private readonly SemaphoreSlim _adopting = new(1, 1);
    private bool _adopted;

    /// <summary>
    /// Once, at the agent's start (<see cref="PodAdoption"/>) or else before the first reconcile and host record: the
    /// supervisor adopts the VMs an earlier agent left running (never stopping one), and what each running one holds (its
    /// launch file's vCPUs and memory) counts against the allocatable resources at once. Each adopted VM carries the
    /// launch hash it was started with, so the resync's reconcile of an unchanged pod touches nothing. A failure (systemd
    /// unreachable) is transient: the next call tries again.
    /// </summary>
    public async Task AdoptLeftOverVmsAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _adopted)) return;
        await _adopting.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_adopted) return;
            var adopted = await vms.AdoptAsync(ct).ConfigureAwait(false);
            // What runs holds resources; a VM that is down (a failed unit) holds them again only when its pod starts it.
            foreach (var vm in adopted.Where(v => v.Running))
            {
                string file = Path.Combine(options.RunDir, vm.Id, "launch.json");
                try
                {
                    var launch = JsonSerializer.Deserialize(File.ReadAllBytes(file), PodFilesJsonContext.Default.VmLaunchFile);
                    if (launch is not null) _held[vm.Id] = (launch.Vcpus, launch.MemoryMiB);
                }
                catch (Exception e) when (e is IOException or JsonException) { _log.LogWarning("adopted VM {Id}: reading {File}: {Error}", vm.Id, file, e.Message); }
            }
            if (adopted.Count > 0)
                _log.LogInformation("adopted {Count} VM(s) left running: {Ids}", adopted.Count, string.Join(", ", adopted.Select(v => v.Id)));
            Volatile.Write(ref _adopted, true);
        }
        finally { _adopting.Release(); }
    }

    /// <summary>The pods this host has a VM or files of (the orphan check: those without desired state are reported).</summary>
    public async Task<IReadOnlyList<string>> PodsOnHostAsync(CancellationToken ct)
    {
        await AdoptLeftOverVmsAsync(ct).ConfigureAwait(false);
        var ids = new HashSet<string>(vms.List().Select(v => v.Id), StringComparer.Ordinal);
        if (Directory.Exists(options.RunDir))
            foreach (var dir in Directory.EnumerateDirectories(options.RunDir)) ids.Add(Path.GetFileName(dir));
        return ids.Order(StringComparer.Ordinal).ToList();
    }
}

/// <summary>The Pods whose VM runs or whose files are on this host, for the orphan check (contract section 3.3).</summary>
public sealed class PodVmInventory(PodReconciler pods, string host) : IResourceInventory
{
    public string Name => "pod VMs";

    public async Task<IReadOnlyList<ResourceKey>> ListAsync(CancellationToken ct) =>
        (await pods.PodsOnHostAsync(ct).ConfigureAwait(false))
            .Select(id => new ResourceKey(host, ResourceKinds.SubjectToken(ResourceKinds.Pod), id)).ToList();
}
