using Kraud.Agent.Host;
using Kraud.Agent.Hosting;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// The daemon's storage housekeeping, started before the work engine: reconciles the NFS exports file with the
/// datasets once, then runs the snapshot timer until SIGTERM. Without ZFS on the host it stays idle and says so
/// once. Nothing it meets (a failed pass, a failed status write) stops the daemon: it is logged and the next
/// pass tries again.
/// </summary>
public sealed class StorageService(
    ProbeResult zfs, Func<CancellationToken, Task<ExportsAtStart>> exportsAtStart, SnapshotPassLoop passes,
    SnapshotStatusUpdater? statusUpdater, ILogger<StorageService> logger) : IAgentService
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public string Name => "storage";

    /// <summary>Passes handled so far, logging and status amends done (tests wait on it).</summary>
    public int Passes => Volatile.Read(ref _passes);
    private int _passes;

    public static StorageService Create(VolumeReconciler volumes, SnapshotScheduler scheduler, ProbeResult zfs, SnapshotStatusUpdater? statusUpdater, ILogger<StorageService> logger) =>
        new(zfs, volumes.ReconcileExportsAtStartAsync, scheduler.RunAsync, statusUpdater, logger);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!zfs.Ok)
        {
            logger.LogInformation("ZFS is not available ({Detail}): snapshot schedule and NFS export reconcile stay idle", zfs.Detail);
            return;
        }
        await ReconcileExportsAsync(cancellationToken);
        _loop = Task.Run(RunLoopAsync, CancellationToken.None);
        logger.LogInformation("snapshot schedule running");
    }

    private async Task RunLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await passes(OnPassAsync, _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The scheduler reports a pass's errors itself; this is what it did not expect. Try again in a minute.
                logger.LogError(e, "snapshot timer stopped unexpectedly: {Error}; restarting it in a minute", e.Message);
                try { await Task.Delay(TimeSpan.FromMinutes(1), _stop.Token); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task ReconcileExportsAsync(CancellationToken ct)
    {
        try
        {
            var r = await exportsAtStart(ct);
            foreach (var e in r.Removed)
                using (logger.BeginScope(new Dictionary<string, object?> { ["Kind"] = ResourceKinds.Volume, ["Id"] = e.VolumeId }))
                    logger.LogWarning("NFS export of {Path} dropped at start: its dataset is gone, not ours or not mounted there", e.Path);
            logger.LogInformation("NFS exports reconciled at start: {Kept} kept, {Removed} dropped", r.Kept.Count, r.Removed.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever the pools or exportfs answered (a ZfsException as much as an IOException), the agent starts.
            // The exports stay as the file says; the next Volume reconcile rewrites and applies it again.
            logger.LogError("NFS exports could not be reconciled at start: {Error}", e.Message);
        }
    }

    private async Task OnPassAsync(SchedulerPassResult pass, CancellationToken ct)
    {
        try
        {
            foreach (var error in pass.Errors)
                using (logger.BeginScope(ScopeOf(error.Dataset)))
                    logger.LogWarning("snapshot schedule: {Error}", error.Message);
            if (pass.Created > 0 || pass.Destroyed > 0)
            {
                using (logger.BeginScope(new Dictionary<string, object?> { ["Kind"] = ResourceKinds.Volume }))
                    logger.LogInformation("snapshot pass over {Volumes} volumes: {Created} taken, {Destroyed} pruned, {Errors} errors",
                        pass.Volumes, pass.Created, pass.Destroyed, pass.Errors.Count);
                foreach (var t in pass.Taken)
                    using (logger.BeginScope(ScopeOf(t.Dataset, t.VolumeId)))
                        logger.LogDebug("snapshot {Snapshot} taken", t.Snapshot);
            }
            if (statusUpdater is not null && pass.Taken.Count > 0) await statusUpdater.UpdateAsync(pass, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The timer must outlive anything one pass meets; what it was is in the log.
            logger.LogError(e, "snapshot pass handling failed: {Error}", e.Message);
        }
        finally
        {
            Interlocked.Increment(ref _passes);
        }
    }

    /// <summary>Journal fields for a dataset: KRAUD_KIND=Volume, KRAUD_ID=the volume (its last name component under &lt;pool&gt;/kraud/).</summary>
    private static Dictionary<string, object?> ScopeOf(string? dataset, string? volumeId = null)
    {
        var scope = new Dictionary<string, object?> { ["Kind"] = ResourceKinds.Volume };
        string? id = volumeId;
        if (id is null && dataset is not null) id = VolumeDatasets.IdOf(dataset);
        if (id is not null) scope["Id"] = id;
        if (dataset is not null) scope["Dataset"] = dataset;
        return scope;
    }

    public async Task StopAsync(CancellationToken deadline)
    {
        _stop.Cancel();
        try
        {
            await _loop.WaitAsync(deadline);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            logger.LogWarning("snapshot pass still running at the end of the shutdown grace");
        }
        catch (OperationCanceledException)
        {
        }
    }
}
