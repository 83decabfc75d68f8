using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Kraud.Zfs;
using Kraud.Zfs.Schedule;
using Kraud.Zfs.Send;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>One target of a source volume as the last pass left it (observed.replication[i]).</summary>
public sealed record TargetStatus(string Host, string? LastSnapshot, DateTimeOffset? LastSentAt, long Bytes, string State, string? Error,
    DateTimeOffset? LastAttempt, long ProgressBytes = 0, long EstimatedBytes = 0);

/// <summary>
/// The source side's timer (replication.md): each tick, every source volume whose newest `repl-` snapshot is `every`
/// old (or that has none) takes a new one on the daemon's clock, and every target not yet at the newest snapshot gets
/// a pass, at most <c>maxTransfers</c> at once on the host. A pass that missed its time (the agent was down, a
/// target was unreachable) runs at the next tick, so a late volume catches up in one pass. Then the source keeps
/// `keep` replication snapshots, never destroying one a target holds as its base.
/// </summary>
public sealed class ReplicationSchedule(ZfsApi zfs, ReplicationSender sender, ReplicationRegistry registry, TimeProvider clock,
    SemaphoreSlim transfers, ILogger logger)
{
    private readonly ConcurrentDictionary<(string Id, string Host), TargetStatus> _targets = new();

    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>A failing target is tried again after this, not at every tick.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>Where observed.replication goes (the engine, set once it exists).</summary>
    public IStatusAmender? Amender { get; set; }

    /// <summary>Passes done (tests wait on it).</summary>
    public int Passes => Volatile.Read(ref _passes);
    private int _passes;

    public IReadOnlyList<TargetStatus> StatusOf(string id) =>
        _targets.Where(kv => kv.Key.Id == id).Select(kv => kv.Value).OrderBy(t => t.Host, StringComparer.Ordinal).ToList();

    /// <summary>Seconds since the snapshot the target last confirmed (since never: null).</summary>
    public static long? LagSeconds(TargetStatus t, DateTimeOffset now) =>
        t.LastSnapshot is { } s && ReplicationNames.TimeOf(s) is { } at ? (long)(now - at).TotalSeconds : null;

    /// <summary>Source volumes with a target whose lag passed 2 × every, or that never received (the host record counts them).</summary>
    public int VolumesBehindRpo()
    {
        var now = clock.GetUtcNow();
        return registry.Sources.Count(kv => Behind(kv.Key, kv.Value, now) is not null);
    }

    private string? Behind(string id, SourceEntry entry, DateTimeOffset now)
    {
        var every = ScheduleRule.ParsePeriod(entry.Spec.Every) ?? TimeSpan.MaxValue;
        foreach (var t in StatusOf(id))
            if (LagSeconds(t, now) is long lag && lag > 2 * every.TotalSeconds)
                return $"replication to '{t.Host}' is behind its RPO: lag {lag} s is more than 2 × every ({entry.Spec.Every})";
        return null;
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { await PassAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                logger.LogError(e, "replication pass failed: {Error}", e.Message);
            }
            Interlocked.Increment(ref _passes);
            try { await Task.Delay(Tick, clock, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
        }
    }

    /// <summary>One tick over every source volume.</summary>
    public async Task PassAsync(CancellationToken ct)
    {
        var work = registry.Sources.Select(kv => VolumeAsync(kv.Key, kv.Value, ct)).ToList();
        await Task.WhenAll(work).ConfigureAwait(false);
    }

    private async Task VolumeAsync(string id, SourceEntry entry, CancellationToken ct)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["Kind"] = ResourceKinds.Volume, ["Id"] = id });
        try
        {
            await VolumeCoreAsync(id, entry, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ZfsException or IOException or InvalidOperationException)
        {
            logger.LogWarning("replication pass: {Error}", e.Message);
        }
    }

    private async Task VolumeCoreAsync(string id, SourceEntry entry, CancellationToken ct)
    {
        string ds = VolumeDatasets.Name(entry.Pool, id);
        if (!zfs.Exists(ds)) return;
        var now = clock.GetUtcNow();
        var every = ScheduleRule.ParsePeriod(entry.Spec.Every)!.Value;
        var repl = (await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false)).Where(s => ReplicationNames.TimeOf(s.ShortName) is not null).ToList();
        string? newest = repl.Count > 0 ? repl[^1].Name : null;
        if (newest is null || now >= ReplicationNames.TimeOf(ReplicationNames.ShortName(newest))!.Value + every)
        {
            newest = $"{ds}@{ReplicationNames.Snapshot(now)}";
            if (!zfs.Exists(newest)) zfs.Snapshot([newest]);
            logger.LogDebug("replication snapshot {Snapshot} taken", newest);
        }
        var passes = (entry.Spec.Targets ?? []).Select(t => TargetAsync(id, ds, t, newest, now, ct)).ToList();
        await Task.WhenAll(passes).ConfigureAwait(false);
        await PruneAsync(ds, entry.Spec.Keep, ct).ConfigureAwait(false);
        await AmendStatusAsync(id, entry, ct).ConfigureAwait(false);
    }

    private async Task TargetAsync(string id, string ds, ReplicationTargetSpec target, string snapshot, DateTimeOffset now, CancellationToken ct)
    {
        var key = (id, target.Host!);
        var before = _targets.GetValueOrDefault(key) ?? new TargetStatus(target.Host!, null, null, 0, TargetPassResult.Idle, null, null);
        if (before.LastSnapshot == ReplicationNames.ShortName(snapshot) && before.State == TargetPassResult.Idle) return;
        if (before.State == TargetPassResult.Failing && before.LastAttempt is { } last && now < last + RetryAfter) return;
        await transfers.WaitAsync(ct).ConfigureAwait(false);
        var gate = registry.LockOf(id);
        try
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var progress = new Progress(this, key);
                var r = await sender.SendAsync(id, ds, target, snapshot, progress,
                    state => _targets[key] = (_targets.GetValueOrDefault(key) ?? before) with { State = state, LastAttempt = now }, ct).ConfigureAwait(false);
                _targets[key] = new TargetStatus(target.Host!, r.LastSnapshot ?? before.LastSnapshot,
                    r.Bytes > 0 || r.Error is null ? clock.GetUtcNow() : before.LastSentAt, r.Bytes, r.State, r.Error, now);
                if (r.Error is not null) logger.LogWarning("replication to '{Host}': {Error}", target.Host, r.Error);
                else if (r.Bytes > 0) logger.LogInformation("replication to '{Host}': {Snapshot} sent, {Bytes} bytes", target.Host, r.LastSnapshot, r.Bytes);
            }
            finally { gate.Release(); }
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is IOException or System.Net.Sockets.SocketException
            or System.Security.Authentication.AuthenticationException or ReplicationRefusedException or ZfsException or TimeoutException or OperationCanceledException)
        {
            _targets[key] = before with { State = TargetPassResult.Failing, Error = e.Message, LastAttempt = now, Bytes = 0 };
            logger.LogWarning("replication to '{Host}' failed: {Error}; next try in {Retry}", target.Host, e.Message, RetryAfter);
        }
        finally { transfers.Release(); }
    }

    private sealed class Progress(ReplicationSchedule owner, (string, string) key) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (owner._targets.TryGetValue(key, out var t))
                owner._targets[key] = t with { ProgressBytes = value.Bytes, EstimatedBytes = value.EstimatedBytes };
        }
    }

    /// <summary>Keeps the newest <paramref name="keep"/> replication snapshots; a held one (some target's base) is never destroyed.</summary>
    private async Task PruneAsync(string ds, int keep, CancellationToken ct)
    {
        var repl = (await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false)).Where(s => ReplicationNames.TimeOf(s.ShortName) is not null).ToList();
        var old = repl.Take(Math.Max(0, repl.Count - Math.Max(1, keep))).Where(s => !s.Held).Select(s => s.Name).ToList();
        if (old.Count > 0) zfs.DestroySnapshots(old);
    }

    /// <summary>observed.replication: one entry per target (and the warning when a target is behind its RPO).</summary>
    public JsonArray StatusNode(string id)
    {
        var now = clock.GetUtcNow();
        return new JsonArray(StatusOf(id).Select(t => (JsonNode)new JsonObject
        {
            ["host"] = t.Host,
            ["lastSnapshot"] = t.LastSnapshot,
            ["lastSentAt"] = t.LastSentAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["lagSeconds"] = LagSeconds(t, now),
            ["bytes"] = t.Bytes,
            ["state"] = t.State,
            ["error"] = t.Error,
        }).ToArray());
    }

    private async Task AmendStatusAsync(string id, SourceEntry entry, CancellationToken ct)
    {
        if (Amender is null) return;
        var node = StatusNode(id);
        string? behind = Behind(id, entry, clock.GetUtcNow());
        try
        {
            await Amender.AmendObservedAsync(ResourceKinds.Volume, id, entry.Generation, observed =>
            {
                if (JsonNode.DeepEquals(observed["replication"], node) && observed["replicationWarning"]?.GetValue<string>() == behind) return false;
                observed["replication"] = node.DeepClone();
                observed["replicationWarning"] = behind;
                return true;
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("replication status not written: {Error}", e.Message);
        }
    }
}
