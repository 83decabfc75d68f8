using System.Collections.Concurrent;
using System.Text;
using Kraud.Agent.Kinds;
using Kraud.Agent.State;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// Takes this host's work tokens (contract section 3.2): pulls only as many as it has free slots (the configured
/// concurrency), reconciles each against the latest desired state while holding it, and settles it: +ACK then
/// Ready, -NAK with back-off on a transient failure, +TERM on a permanent one. Every token is settled whatever
/// goes wrong: a token left unsettled would hold one of the host's max_ack_pending slots for ack_wait, over and over.
/// </summary>
public sealed class WorkEngine
{
    private readonly INatsJSContext _js;
    private readonly StreamMessageReader _desired, _work;
    private readonly INatsJSConsumer _consumer;
    private readonly ReconcilerRegistry _registry;
    private readonly StatusWriter _status;
    private readonly string _host, _stateDir;
    private readonly int _concurrency;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly AppliedSpecs _applied;
    private readonly HeldTokens? _held;
    private readonly RejectedTokens _rejected;
    // Desired sequence each resource was last reconciled to by this process: a token dispatched again for a
    // desired state already served (a busy retry that lost the race) is acked without running it twice.
    private readonly ConcurrentDictionary<string, ulong> _served = new();
    // The attempt of this process that is still settling per resource. A token comes back while its first attempt
    // still asks whether its ack was taken (a server back from a freeze redelivers what timed out meanwhile); the new
    // delivery waits for that attempt, and finds the desired state served if its ack was taken.
    private readonly ConcurrentDictionary<string, Task> _busy = new();
    private long _lastLoopTick = Environment.TickCount64;

    public WorkEngine(INatsJSContext js, INatsJSConsumer consumer, ReconcilerRegistry registry, StatusWriter status,
        string host, string stateDir, int concurrency, ILogger<WorkEngine> logger, HeldTokens? held = null, RejectedTokens? rejected = null)
    {
        (_consumer, _registry, _status, _host, _stateDir, _concurrency, _logger) = (consumer, registry, status, host, stateDir, concurrency, logger);
        _js = js;
        _desired = new StreamMessageReader(js.Connection, StreamLayout.Desired);
        _work = new StreamMessageReader(js.Connection, StreamLayout.Work);
        _slots = new SemaphoreSlim(concurrency, concurrency);
        _applied = new AppliedSpecs(stateDir);
        _held = held;
        _rejected = rejected ?? new RejectedTokens();
    }

    public int Running => _running.Count;

    /// <summary>False when the pull loop has not turned for a minute (it turns at least every few seconds).</summary>
    public bool IsHealthy => Environment.TickCount64 - Interlocked.Read(ref _lastLoopTick) < 60_000;

    /// <summary>
    /// Pulls and starts work until <paramref name="stopTaking"/> fires; running work goes on. One pull is always open
    /// for the whole concurrency: the work consumer's max_ack_pending (the same concurrency) is what bounds delivery,
    /// so the server hands the next token over as soon as an ack frees room, without a pull request's round trip
    /// (and a fetch's SUB/UNSUB) per token. A delivered token takes a slot before it starts; since slots are given
    /// back at the confirmed ack, one is free whenever the server can deliver, and the wait is short.
    /// </summary>
    public async Task RunAsync(CancellationToken stopTaking)
    {
        while (!stopTaking.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _lastLoopTick, Environment.TickCount64);
            try
            {
                var opts = new NatsJSFetchOpts { MaxMsgs = _concurrency, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(2) };
                await foreach (var msg in _consumer.FetchAsync(opts, Serializers.WorkToken, stopTaking))
                {
                    Interlocked.Exchange(ref _lastLoopTick, Environment.TickCount64);
                    if (stopTaking.IsCancellationRequested || !await TakeSlotAsync(stopTaking))
                    {
                        // Taken after SIGTERM, or no slot within a third of ack_wait (a consumer whose
                        // max_ack_pending another agent set higher): hand it back at once rather than after ack_wait.
                        await SettleAsync(() => msg.NakAsync(cancellationToken: CancellationToken.None));
                        continue;
                    }
                    Start(msg);
                }
            }
            catch (OperationCanceledException) when (stopTaking.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                _logger.LogWarning("work fetch failed: {Error}; retrying", e.Message);
                await Pause.ForAsync(TimeSpan.FromSeconds(1), stopTaking);
            }
        }
    }

    private async Task<bool> TakeSlotAsync(CancellationToken stopTaking)
    {
        try
        {
            return await _slots.WaitAsync(StreamLayout.AckWait / 3, stopTaking);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Start(INatsJSMsg<WorkToken> msg)
    {
        var slot = new Slot(_slots);
        var task = Task.Run(() => WorkAsync(msg, slot));
        _running[task] = 0;
        _ = task.ContinueWith(t =>
        {
            _running.TryRemove(t, out _);
            slot.Release();
        }, TaskScheduler.Default);
    }

    /// <summary>
    /// One of the engine's slots (the configured concurrency), given back once: as soon as the token's +ACK is
    /// confirmed, or when the work ends without one. What follows a confirmed ack is reporting (the status write, a
    /// round trip to KRAUD_STATUS), not reconciling: the server already counts the token as settled (max_ack_pending),
    /// and holding the slot through that round trip left the host's next token waiting for it (bench/engine: a third
    /// of each token's time in a burst). The resource itself stays busy until its status is written (_busy).
    /// </summary>
    private sealed class Slot(SemaphoreSlim slots)
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }

    /// <summary>Lets running work finish until <paramref name="deadline"/>, then cancels it and hands its tokens back (-NAK, no delay).</summary>
    public async Task DrainAsync(CancellationToken deadline)
    {
        var all = Task.WhenAll(_running.Keys);
        try
        {
            await all.WaitAsync(deadline);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("{Count} reconciles still running at the end of the shutdown grace; handing their tokens back", _running.Count);
            _abort.Cancel();
            await all.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task WorkAsync(INatsJSMsg<WorkToken> msg, Slot slot)
    {
        ulong tokenSeq = msg.Metadata?.Sequence.Stream ?? 0;
        if (msg.ReplyTo is { } replyTo && tokenSeq > 0) _held?.Add(tokenSeq, replyTo, msg.Subject);
        try
        {
            await WorkOnAsync(msg, slot);
        }
        catch (Exception e)
        {
            // Nothing may leave a token unsettled: hand it back for a later attempt.
            _logger.LogError(e, "work token on {Subject}: unexpected failure; handed back", Escape(msg.Subject));
            await SettleAsync(() => msg.NakAsync(Settle.NakAfter(Backoff.Transient(msg.Metadata?.NumDelivered ?? 1)), CancellationToken.None));
        }
        finally
        {
            if (tokenSeq > 0) _held?.Remove(tokenSeq);
            // Once work has been quiet for a while (MemoryTrim's 2 s), its garbage is collected and the code it ran
            // unmapped, as after start-up: an idle agent then holds what idling needs, not its last burst.
            MemoryTrim.Request();
        }
    }

    private async Task WorkOnAsync(INatsJSMsg<WorkToken> msg, Slot slot)
    {
        var key = ResourceKey.FromSubject(msg.Subject);
        ulong attempt = msg.Metadata?.NumDelivered ?? 1;
        if (key is null || key.Host != _host || !key.StatusKeyIsValid)
        {
            // No status can be written for it: terminate once (not every ack_wait for ever, which with the
            // concurrency's worth of them would stop the host) and count it in the host record.
            _rejected.Add();
            _logger.LogError("work token on {Subject} names no resource of host {Host} a status can be written for; terminated", Escape(msg.Subject), _host);
            await SettleAsync(() => msg.AckTerminateAsync(Settle.Terminate, CancellationToken.None));
            return;
        }
        using var scope = _logger.BeginScope(new Dictionary<string, object?> { ["Kind"] = key.Kind, ["Id"] = key.Id, ["Attempt"] = attempt });
        await using var hold = new TokenHold(msg, StreamLayout.AckWait, _logger);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(hold.Lost, _abort.Token);
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            while (!_busy.TryAdd(key.DesiredSubject, mine.Task))
                if (_busy.TryGetValue(key.DesiredSubject, out var earlier)) await earlier.WaitAsync(cancel.Token);
            await WorkHeldAsync(msg, key, attempt, hold, cancel, slot);
        }
        catch (OperationCanceledException) when (hold.IsLost || _abort.IsCancellationRequested)
        {
            // Lost while waiting for the earlier attempt: as a lost hold below (shutdown: handed back).
            if (_abort.IsCancellationRequested && !hold.IsLost) await SettleAsync(() => msg.NakAsync(cancellationToken: CancellationToken.None));
        }
        finally
        {
            if (_busy.TryGetValue(key.DesiredSubject, out var current) && current == mine.Task) _busy.TryRemove(key.DesiredSubject, out _);
            mine.SetResult();
        }
    }

    private async Task WorkHeldAsync(INatsJSMsg<WorkToken> msg, ResourceKey key, ulong attempt, TokenHold hold, CancellationTokenSource cancel, Slot slot)
    {
        ResourceEnvelope? envelope = null;
        ReadOnlyMemory<byte> desiredData = default;
        ProgressingStatus? progressing = null;
        // An envelope too broken to parse still reports at its generation when that can be read, else at the
        // stored one (0), so a Failed is never dropped as older than the resource's last status.
        bool headOnly = false;
        long FailedGeneration() => envelope?.Generation ?? EnvelopeParser.TryReadGeneration(desiredData.Span, complete: !headOnly) ?? 0;
        async Task StopProgressing()
        {
            // No Progressing may land after the outcome.
            if (progressing is not null) await progressing.Cancel();
            progressing = null;
        }
        try
        {
            var desired = await ReadDesiredAsync(key, msg.Data?.DesiredSeq ?? 0, cancel.Token);
            if (desired is null)
            {
                // Purged after a finished delete: nothing is wanted any more.
                await hold.StopAsync();
                await msg.AckAsync(Settle.Confirmed, cancel.Token);
                _logger.LogInformation("no desired state left; token acked");
                return;
            }
            if (_served.TryGetValue(key.DesiredSubject, out ulong served) && served == desired.Sequence)
            {
                await hold.StopAsync();
                await msg.AckAsync(Settle.Confirmed, cancel.Token);
                _logger.LogDebug("desired seq {Seq} already reconciled; token acked", desired.Sequence);
                return;
            }
            if (desired.TooLarge)
            {
                desiredData = desired.Head;
                headOnly = true;
                throw new PermanentReconcileException($"envelope is {desired.Size} bytes, over the limit of {ResourceEnvelope.MaxBytes} (256 KiB); not read");
            }
            desiredData = desired.Data;
            envelope = EnvelopeParser.Parse(desired.Data.Span, key);
            var reconciler = _registry.Get(key);
            if (envelope.Deleted && envelope.Spec.ValueKind == System.Text.Json.JsonValueKind.Undefined && _applied.Load(key) is { } last)
                envelope = envelope with { Spec = last };
            using var genScope = _logger.BeginScope(new Dictionary<string, object?> { ["Generation"] = envelope.Generation });
            progressing = ReportProgressingLater(key, envelope, attempt, cancel.Token);
            var context = new ReconcileContext(_host, _stateDir, (int)attempt, _logger) { Progress = progressing };

            var observed = await reconciler.ReconcileAsync(envelope, context, cancel.Token);
            await StopProgressing();
            await hold.StopAsync();
            if (hold.IsLost) return;
            if (!await Settle.TryConfirmedAsync(msg, Settle.Confirmed, AckTimeout, _abort.Token, ack: true) && !await AckTakenAsync(msg))
                return;
            slot.Release();
            await FinishAsync(key, envelope, desired.Sequence, attempt, observed);
        }
        catch (PermanentReconcileException e)
        {
            await StopProgressing();
            if (hold.IsLost) return;
            _logger.LogError("permanent failure: {Error}", e.Message);
            // Written while the hold still runs: a status write stuck in retries must not let the token expire.
            await WriteStatusAsync(key, FailedGeneration(), ResourceStatus.Failed, e.Message, attempt, null);
            await hold.StopAsync();
            if (hold.IsLost) return;
            await SettleAsync(() => msg.AckTerminateAsync(Settle.Terminate, CancellationToken.None));
        }
        catch (OperationCanceledException) when (hold.IsLost)
        {
            await StopProgressing();
            _logger.LogWarning("reconcile cancelled: the token hold was lost; not acking");
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            await StopProgressing();
            await hold.StopAsync();
            _logger.LogWarning("reconcile cancelled at shutdown; token handed back");
            await SettleAsync(() => msg.NakAsync(cancellationToken: CancellationToken.None));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await StopProgressing();
            if (hold.IsLost) return;
            var delay = Backoff.Transient(attempt);
            _logger.LogWarning(e, "reconcile failed (attempt {Attempt}); retrying in {DelaySeconds} s", attempt, delay.TotalSeconds);
            await WriteStatusAsync(key, FailedGeneration(), ResourceStatus.Failed,
                $"attempt {attempt}: {e.Message}; retrying in {delay.TotalSeconds:0.#} s", attempt, null);
            await hold.StopAsync();
            if (hold.IsLost) return;
            await SettleAsync(() => msg.NakAsync(Settle.NakAfter(delay), CancellationToken.None));
        }
    }

    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The newest desired state, at least as new as the one that made the token. A server that just rejoined a
    /// cluster and took the stream's leadership can answer from behind: "no message" for a desired state the
    /// dispatcher read a moment ago (seen in ClusterTests: a resource acked as "nothing wanted" and never reported).
    /// Such an answer is asked again for a few seconds, then treated as a transient failure; only when the stream
    /// has seen the token's desired message is a missing one a finished delete's purge.
    /// </summary>
    private async Task<StreamMessage?> ReadDesiredAsync(ResourceKey key, ulong tokenSeq, CancellationToken ct)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            var desired = await _desired.GetLastAsync(key.DesiredSubject, ct);
            if (desired is not null && desired.Sequence >= tokenSeq) return desired;
            if (desired is null && (tokenSeq == 0 || await DesiredLastSequenceAsync(ct) >= tokenSeq)) return null;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"{StreamLayout.Desired} does not yet show desired seq {tokenSeq} (the answering server is behind)");
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }

    private async Task<ulong> DesiredLastSequenceAsync(CancellationToken ct) =>
        (ulong)(await _js.GetStreamAsync(StreamLayout.Desired, cancellationToken: ct)).Info.State.LastSeq;

    /// <summary>
    /// After an +ACK whose confirmation did not come: the server may have taken it and lost only the answer (a
    /// frozen or restarting server), and then no token ever comes back. So learn the token's fate from KRAUD_WORK
    /// (a work queue drops an acked message): gone means the ack was taken and the outcome must be reported now.
    /// Still there means the ack never arrived: the work is done, so the +ACK is sent again (confirmed) rather than
    /// letting the token come back after ack_wait and the reconcile run twice; once it is confirmed, or the token is
    /// gone, the outcome is reported. Asked until the server answers, for at most ack_wait; after that the token
    /// has been redelivered and its next attempt does the work again (idempotent).
    /// </summary>
    private async Task<bool> AckTakenAsync(INatsJSMsg<WorkToken> msg)
    {
        ulong seq = msg.Metadata?.Sequence.Stream ?? 0;
        if (seq == 0) return false;
        _logger.LogWarning("ack not confirmed; asking KRAUD_WORK whether the server took it");
        var giveUpAt = DateTime.UtcNow + StreamLayout.AckWait;
        for (ulong tries = 1; !_abort.IsCancellationRequested && DateTime.UtcNow < giveUpAt; tries++)
        {
            try
            {
                if (await _work.GetAsync(seq, _abort.Token) is null)
                {
                    _logger.LogInformation("the server took the ack; reporting the outcome");
                    return true;
                }
                if (await Settle.TryConfirmedAsync(msg, Settle.Confirmed, AckTimeout, _abort.Token, ack: true))
                {
                    _logger.LogInformation("ack sent again and confirmed; reporting the outcome");
                    return true;
                }
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await Pause.ForAsync(Backoff.StatusWrite(tries), _abort.Token);
        }
        _logger.LogWarning("the token is still queued: it comes back after ack_wait and is reconciled again");
        return false;
    }

    /// <summary>
    /// After the confirmed ack: record, report and (for a delete) purge. The token is gone by now, so nothing here
    /// may turn into a Failed status or a -NAK; a step that fails is logged and the others still run.
    /// </summary>
    private async Task FinishAsync(ResourceKey key, ResourceEnvelope envelope, ulong desiredSeq, ulong attempt, System.Text.Json.Nodes.JsonObject? observed)
    {
        try
        {
            if (envelope.Deleted) _applied.Remove(key);
            else _applied.Save(key, envelope.Spec);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("could not record the applied state in {StateDir}: {Error}; orphan reports may be wrong until the next reconcile", _stateDir, e.Message);
        }
        _served[key.DesiredSubject] = desiredSeq;
        string phase = envelope.Deleted ? ResourceStatus.Deleted : ResourceStatus.Ready;
        await WriteStatusAsync(key, envelope.Generation, phase, "", attempt, observed);
        _logger.LogInformation("reconciled: {Phase}", phase);
        if (!envelope.Deleted) return;
        try
        {
            // Only up to the delete we served: a re-create published meanwhile must survive.
            await _js.PurgeStreamAsync(StreamLayout.Desired, new StreamPurgeRequest { Filter = key.DesiredSubject, Seq = desiredSeq + 1 });
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            // The delete stays desired; served again later, it finds nothing left to remove.
            _logger.LogWarning("could not purge the finished delete from {Stream}: {Error}", StreamLayout.Desired, e.Message);
        }
    }

    /// <summary>A reconcile that takes a while reports Progressing; a quick one goes straight to Ready.</summary>
    private ProgressingStatus ReportProgressingLater(ResourceKey key, ResourceEnvelope envelope, ulong attempt, CancellationToken ct) =>
        new(observed => WriteStatusAsync(key, envelope.Generation, ResourceStatus.Progressing, "", attempt, observed), ct);

    /// <summary>
    /// Retried for up to 30 s: while a cluster elects a new leader for the status bucket, writes time out, and a
    /// status dropped then would stay missing until the resource changes again.
    /// </summary>
    private async Task WriteStatusAsync(ResourceKey key, long generation, string phase, string message, ulong attempt, System.Text.Json.Nodes.JsonObject? observed)
    {
        var status = new ResourceStatus
        {
            Host = key.Host, Kind = key.Kind, Id = key.Id, Generation = generation, Phase = phase,
            Message = message, Attempts = (long)attempt, Observed = observed ?? new(),
        };
        var giveUpAt = DateTime.UtcNow + StatusRetryLimit;
        for (ulong tries = 1; ; tries++)
        {
            var delay = Backoff.StatusWrite(tries);
            try
            {
                await _status.WriteAsync(status, CancellationToken.None, key.StatusKey);
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException && DateTime.UtcNow + delay < giveUpAt)
            {
                _logger.LogWarning("status {Phase} not written yet: {Error}; retrying in {DelayMs} ms", phase, e.Message, (int)delay.TotalMilliseconds);
                await Task.Delay(delay);
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                _logger.LogWarning("status {Phase} not written: {Error}", phase, e.Message);
                return;
            }
        }
    }

    private static readonly TimeSpan StatusRetryLimit = TimeSpan.FromSeconds(30);

    private async Task SettleAsync(Func<ValueTask> settle)
    {
        try
        {
            await settle();
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("could not settle the token ({Error}); it comes back after ack_wait", e.Message);
        }
    }

    /// <summary>A subject as it may be logged: anything but printable ASCII as \uXXXX, so raw bytes never reach the journal.</summary>
    internal static string Escape(string subject)
    {
        var sb = new StringBuilder(subject.Length);
        foreach (char c in subject)
            if (c is >= ' ' and < (char)0x7f && c != '\\') sb.Append(c);
            else sb.Append($"\\u{(int)c:x4}");
        return sb.ToString();
    }
}
