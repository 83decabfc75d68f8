using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Kraud.Zfs;
using Kraud.Zfs.Send;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>
/// The replica side: accepts TLS connections (mutual, TLS 1.3), knows the peer by its certificate's host id, and
/// takes a stream for volume &lt;id&gt; only when this host's replica spec of &lt;id&gt; names that host as its source,
/// and only into &lt;pool&gt;/kraud/&lt;id&gt; marked as a replica of it. Anything else is refused, logged, and writes nothing.
/// </summary>
public sealed class ReplicationReceiver(ZfsApi zfs, ZfsSendReceive streams, ReplicationRegistry registry, ReplicationTls tls,
    string selfHost, SemaphoreSlim transfers, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;

    public TimeSpan HandshakeLimit { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Writes a replica's observed.replication after each stream received whole: a replica has no reconcile when a pass
    /// arrives, so without it KRAUD_STATUS would say "waiting for the first pass" until the next generation.
    /// </summary>
    public IStatusAmender? Amender { get; set; }

    /// <summary>Streams received whole so far (tests wait on it).</summary>
    public int Received => Volatile.Read(ref _received);
    private int _received;

    /// <summary>Connections refused (no TLS, unknown host, not the volume's source) so far.</summary>
    public int Refused => Volatile.Read(ref _refused);
    private int _refused;

    /// <summary>Starts accepting on a bound, listening socket (the caller made it, in whichever namespace).</summary>
    public void Start(Socket listening)
    {
        _listener = listening;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                logger.LogWarning("replication listener: accept failed: {Error}", e.Message);
                continue;
            }
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket client)
    {
        string remote = client.RemoteEndPoint?.ToString() ?? "?";
        ReplicationWire.NoDelay(client);
        await using var net = new NetworkStream(client, ownsSocket: true);
        await using var ssl = new SslStream(net, leaveInnerStreamOpen: false);
        try
        {
            using (var hs = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                hs.CancelAfter(HandshakeLimit);
                await ssl.AuthenticateAsServerAsync(tls.ServerOptions(), hs.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            Interlocked.Increment(ref _refused);
            logger.LogWarning("replication: refused a connection from {Remote}: no TLS 1.3 handshake with a certificate of our CA ({Error})", remote, e.Message);
            return;
        }
        string peer = ssl.RemoteCertificate is X509Certificate2 c ? ReplicationTls.HostOf(c) ?? "" : "";
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                ReplicationRequest request;
                try { request = await ReplicationWire.ReadAsync(ssl, ReplicationWireJsonContext.Default.ReplicationRequest, _stop.Token).ConfigureAwait(false); }
                catch (IOException) { return; } // the sender is done (or gone)
                if (!await ServeAsync(ssl, peer, remote, request).ConfigureAwait(false)) return;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogInformation("replication: connection from {Peer} ({Remote}) ended: {Error}", peer, remote, e.Message);
        }
    }

    /// <summary>Answers one request; false ends the connection (after a refusal or a failed receive).</summary>
    private async Task<bool> ServeAsync(SslStream ssl, string peer, string remote, ReplicationRequest request)
    {
        var ct = _stop.Token;
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["Kind"] = ResourceKinds.Volume, ["Id"] = request.Volume });
        var entry = registry.Replica(request.Volume);
        string? refusal = entry is null ? $"this host keeps no replica of volume '{request.Volume}'"
            : entry.SourceHost != peer ? $"the replica of volume '{request.Volume}' receives from '{entry.SourceHost}', not from '{peer}'"
            : request.Op is not (ReplicationWire.StateOp or ReplicationWire.ReceiveOp) ? $"unknown operation '{request.Op}'"
            : null;
        string ds = entry is null ? "" : VolumeDatasets.Name(entry.Pool, request.Volume);
        string? tokenProperty = null; // receive_resume_token as read by the check (one zfs process less for `state`)
        if (refusal is null && zfs.Exists(ds)) (refusal, tokenProperty) = await CheckReplicaDatasetAsync(ds, request.Volume, peer, ct).ConfigureAwait(false);
        if (refusal is not null)
        {
            Interlocked.Increment(ref _refused);
            logger.LogWarning("replication: refused {Op} from host '{Peer}' ({Remote}): {Reason}; nothing written", request.Op, peer, remote, refusal);
            await Reply(ssl, new ReplicationReply { Ok = false, Error = refusal }, ct).ConfigureAwait(false);
            return false;
        }
        if (request.Op == ReplicationWire.StateOp)
        {
            await Reply(ssl, (await StateAndNewestAsync(ds, tokenProperty, ct).ConfigureAwait(false)).State, ct).ConfigureAwait(false);
            return true;
        }
        var gate = registry.LockOf(request.Volume);
        await transfers.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try { return await ReceiveAsync(ssl, ds, request.Volume, request.Base, peer, entry!, ct).ConfigureAwait(false); }
            finally { gate.Release(); }
        }
        finally { transfers.Release(); }
    }

    private async Task<bool> ReceiveAsync(SslStream ssl, string ds, string id, string? baseName, string peer, ReplicaEntry entry, CancellationToken ct)
    {
        bool fresh = !zfs.Exists(ds);
        if (!fresh && baseName is not null) await RollBackToBaseAsync(ds, baseName, peer, ct).ConfigureAwait(false);
        Dictionary<string, string>? props = null;
        if (fresh)
        {
            zfs.EnsureParents(ds);
            props = Marks(id, peer, entry);
            props["readonly"] = "on";
            if (entry.IsNfs) props["canmount"] = "off";
        }
        var chunks = new ChunkReadStream(ssl);
        try
        {
            await streams.ReceiveAsync(ds, chunks, props, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ZfsException or IOException)
        {
            // A cut stream leaves the receive_resume_token; the sender asks for it next time.
            logger.LogWarning("replication: receive from '{Peer}' into {Dataset} stopped after {Bytes} bytes: {Error}", peer, ds, chunks.Bytes, e.Message);
            if (!chunks.Ended) return false;
            await Reply(ssl, new ReplicationReply { Ok = false, Error = e.Message }, ct).ConfigureAwait(false);
            return false;
        }
        // A resumed or incremental receive: the marks are there already; make sure anyway (a receive never clears them).
        var have = await zfs.Cli.GetAsync(ds, ["readonly", VolumeDatasets.IdProperty, "receive_resume_token"], ct).ConfigureAwait(false);
        if (have["readonly"].Value != "on" || VolumeReconciler.MarkOf(have.GetValueOrDefault(VolumeDatasets.IdProperty)) != id)
        {
            var set = Marks(id, peer, entry);
            set["readonly"] = "on";
            if (entry.IsNfs) set["canmount"] = "off";
            await zfs.Cli.SetAsync(ds, set, ct).ConfigureAwait(false);
        }
        await PruneAsync(ds, entry.Keep, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _received);
        logger.LogInformation("replication: received {Bytes} bytes from '{Peer}' into {Dataset}", chunks.Bytes, peer, ds);
        // The answer to the stream is the replica's state (the sender's next step needs it), and its newest
        // snapshot is the status's: one listing for both.
        var (state, newest) = await StateAndNewestAsync(ds, have.GetValueOrDefault("receive_resume_token")?.Value ?? "-", ct).ConfigureAwait(false);
        await Reply(ssl, state, ct).ConfigureAwait(false);
        await AmendStatusAsync(id, entry, newest, ct).ConfigureAwait(false);
        return true;
    }

    private async Task AmendStatusAsync(string id, ReplicaEntry entry, (string Name, long Creation)? last, CancellationToken ct)
    {
        if (Amender is null) return;
        try
        {
            var node = ReplicaVolume.StatusNode(entry.SourceHost, last is { } l ? ReplicationNames.ShortName(l.Name) : null, last?.Creation ?? 0, "replica");
            await Amender.AmendObservedAsync(ResourceKinds.Volume, id, entry.Generation, observed =>
            {
                if (JsonNode.DeepEquals(observed["replication"], node)) return false;
                observed["replication"] = node.DeepClone();
                return true;
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("replica status not written: {Error}", e.Message);
        }
    }

    /// <summary>
    /// An incremental applies only on top of its base: when the replica has newer snapshots (the source lost them,
    /// by hand or by a handover's change of direction), it goes back to the base. It is a replica: nothing of its
    /// own is lost, only what the source no longer has.
    /// </summary>
    private async Task RollBackToBaseAsync(string ds, string baseName, string peer, CancellationToken ct)
    {
        var snaps = await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false);
        if (snaps.Count == 0 || snaps[^1].ShortName == baseName || snaps.All(s => s.ShortName != baseName)) return;
        logger.LogWarning("replication: {Dataset} has snapshots newer than the base {Base} of '{Peer}''s stream; rolling back to it", ds, baseName, peer);
        await zfs.RollbackAsync($"{ds}@{baseName}", ct).ConfigureAwait(false);
    }

    private Dictionary<string, string> Marks(string id, string peer, ReplicaEntry entry)
    {
        var m = VolumeDatasets.Marks(selfHost, id, entry.Generation);
        m[ReplicationNames.ReplicaOfProperty] = peer;
        return m;
    }

    /// <summary>
    /// Refusal null when <paramref name="ds"/> may take a stream from <paramref name="peer"/>: ours, a replica of that
    /// host, or a partial receive; with the receive_resume_token property it read.
    /// </summary>
    private async Task<(string? Refusal, string? TokenProperty)> CheckReplicaDatasetAsync(string ds, string id, string peer, CancellationToken ct)
    {
        var p = await zfs.Cli.GetAsync(ds, [VolumeDatasets.IdProperty, VolumeDatasets.HostProperty, ReplicationNames.ReplicaOfProperty, "receive_resume_token"], ct).ConfigureAwait(false);
        string idMark = VolumeReconciler.MarkOf(p.GetValueOrDefault(VolumeDatasets.IdProperty));
        string hostMark = VolumeReconciler.MarkOf(p.GetValueOrDefault(VolumeDatasets.HostProperty));
        string of = VolumeReconciler.MarkOf(p.GetValueOrDefault(ReplicationNames.ReplicaOfProperty));
        string? token = p.GetValueOrDefault("receive_resume_token")?.Value;
        if (idMark == id && hostMark == selfHost && of == peer) return (null, token);
        // A first receive cut off before its end: the partial dataset may not show the marks yet; it resumes.
        if (idMark == "-" && hostMark == "-" && token is not (null or "-" or "")) return (null, token);
        if (idMark == id && hostMark == selfHost) return ($"{ds} is not a replica of '{peer}' (kraud:replica-of is '{of}')", token);
        return ($"{ds} exists and is not kraud's replica of volume '{id}'; left untouched", token);
    }

    /// <summary>
    /// The replica's state, and its newest replication snapshot (null when it has none). <paramref name="tokenProperty"/>:
    /// the receive_resume_token property when the caller has just read it ("-" for none), else null (read here).
    /// </summary>
    private async Task<(ReplicationReply State, (string Name, long Creation)? Newest)> StateAndNewestAsync(string ds, string? tokenProperty, CancellationToken ct)
    {
        if (!zfs.Exists(ds)) return (new ReplicationReply { Ok = true, Snapshots = [] }, null);
        string? token = tokenProperty is null ? await streams.GetResumeTokenAsync(ds, ct).ConfigureAwait(false)
            : tokenProperty is "-" or "" ? null : tokenProperty;
        IReadOnlyList<(string Name, string Guid, long Creation)> snaps = [];
        try { snaps = await zfs.ListSnapshotGuidsAsync(ds, ct).ConfigureAwait(false); }
        catch (ZfsException) when (token is not null) { /* a partial first receive has no snapshots to list */ }
        var newest = snaps.LastOrDefault(s => ReplicationNames.TimeOf(ReplicationNames.ShortName(s.Name)) is not null);
        var state = new ReplicationReply { Ok = true, Token = token, Snapshots = snaps.Select(s => new ReplicaSnapshot(ReplicationNames.ShortName(s.Name), s.Guid)).ToList() };
        return (state, newest.Name is null ? null : (newest.Name, newest.Creation));
    }

    /// <summary>Keeps the newest <paramref name="keep"/> replication snapshots of the replica; the newest is the next base and always stays.</summary>
    private async Task PruneAsync(string ds, int keep, CancellationToken ct)
    {
        var repl = (await zfs.ListSnapshotsAsync(ds, ct: ct).ConfigureAwait(false))
            .Where(s => ReplicationNames.TimeOf(s.ShortName) is not null).ToList();
        var old = repl.Take(Math.Max(0, repl.Count - Math.Max(1, keep))).Where(s => !s.Held).Select(s => s.Name).ToList();
        if (old.Count > 0)
        {
            zfs.DestroySnapshots(old);
            logger.LogDebug("replication: pruned {Count} snapshots of {Dataset}", old.Count.ToString(CultureInfo.InvariantCulture), ds);
        }
    }

    private static Task Reply(Stream s, ReplicationReply reply, CancellationToken ct) =>
        ReplicationWire.WriteAsync(s, reply, ReplicationWireJsonContext.Default.ReplicationReply, ct);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener?.Dispose();
        await _accepting.ConfigureAwait(false);
    }
}
