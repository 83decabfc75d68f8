using System.Net.Security;
using System.Net.Sockets;
using Kraud.Zfs;
using Kraud.Zfs.Send;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>What one pass to one target ended with.</summary>
public sealed record TargetPassResult(string Host, string? LastSnapshot, long Bytes, string State, string? Error, bool NeedsFullSend = false)
{
    public const string Idle = "idle", Sending = "sending", Resuming = "resuming", Failing = "failing";
}

/// <summary>A target refused or failed the transfer; its words are in the message.</summary>
public sealed class ReplicationRefusedException(string message) : Exception(message);

/// <summary>
/// The source side of one pass to one target: asks the replica what it has (its resume token, its snapshots by
/// guid), resumes a cut transfer from the token, else sends incrementally from the newest snapshot both have (a
/// full send when the replica has nothing yet). The base of the next incremental is held on the source with the
/// target's tag, so the pruner cannot take it.
/// </summary>
public sealed class ReplicationSender(ZfsApi zfs, ZfsSendReceive streams, ReplicationTls tls, ILogger logger)
{
    /// <summary>Makes the connected socket (tests dial from another network namespace); default: a TCP connect from here.</summary>
    public Func<string, int, CancellationToken, Task<Socket>> Dial { get; init; } = DialAsync;

    public TimeSpan ConnectLimit { get; init; } = TimeSpan.FromSeconds(30);

    public static async Task<Socket> DialAsync(string host, int port, CancellationToken ct)
    {
        var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try { await s.ConnectAsync(host, port, ct).ConfigureAwait(false); return s; }
        catch { s.Dispose(); throw; }
    }

    /// <summary>
    /// Brings target <paramref name="target"/> up to <paramref name="snapshot"/> (a full name `ds@repl-…`).
    /// <paramref name="onState"/> hears `sending` or `resuming` when bytes start to flow.
    /// </summary>
    public async Task<TargetPassResult> SendAsync(string id, string ds, ReplicationTargetSpec target, string snapshot,
        IProgress<TransferProgress>? progress = null, Action<string>? onState = null, CancellationToken ct = default)
    {
        string host = target.Host!;
        var (address, port) = ReplicationSpecValidator.ParseAddress(target.Address) ?? throw new ReplicationRefusedException($"bad address '{target.Address}'");
        Socket socket;
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            connect.CancelAfter(ConnectLimit);
            socket = await Dial(address, port, connect.Token).ConfigureAwait(false);
        }
        ReplicationWire.NoDelay(socket);
        await using var net = new NetworkStream(socket, ownsSocket: true);
        await using var ssl = new SslStream(net, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(tls.ClientOptions(host), ct).ConfigureAwait(false);

        long bytes = 0;
        var state = await AskAsync(ssl, new ReplicationRequest { Op = ReplicationWire.StateOp, Volume = id }, ct).ConfigureAwait(false);
        // At most: one resume, then one incremental to the wanted snapshot.
        for (int step = 0; step < 3; step++)
        {
            var local = (await zfs.ListSnapshotGuidsAsync(ds, ct).ConfigureAwait(false)).ToList();
            if (state.Token is { } token)
            {
                onState?.Invoke(TargetPassResult.Resuming);
                logger.LogInformation("replication to '{Host}': resuming a cut transfer from the replica's token", host);
                (long n, state) = await StreamAsync(ssl, id, null, (dst, p, c) => streams.ResumeSendAsync(token, dst, p, c), progress, ct).ConfigureAwait(false);
                bytes += n;
                continue;
            }
            var theirs = (state.Snapshots ?? []).Select(s => s.Guid).ToHashSet(StringComparer.Ordinal);
            var common = local.LastOrDefault(s => theirs.Contains(s.Guid));
            if (common.Name == snapshot)
            {
                Hold(ds, host, snapshot, local.Select(s => s.Name));
                return new TargetPassResult(host, ReplicationNames.ShortName(snapshot), bytes, TargetPassResult.Idle, null);
            }
            if (common.Name is null && theirs.Count > 0)
                return new TargetPassResult(host, null, bytes, TargetPassResult.Failing,
                    "the replica has no snapshot in common with the source: a full send is needed (destroy the replica's dataset to allow it)", NeedsFullSend: true);
            // The replica is already past the wanted snapshot (a newer pass got there first).
            if (common.Name is not null && local.FindIndex(s => s.Name == common.Name) > local.FindIndex(s => s.Name == snapshot))
                return new TargetPassResult(host, ReplicationNames.ShortName(common.Name), bytes, TargetPassResult.Idle, null);
            onState?.Invoke(TargetPassResult.Sending);
            string? from = common.Name;
            (long sent, state) = await StreamAsync(ssl, id, from is null ? null : ReplicationNames.ShortName(from), (dst, p, c) => streams.SendAsync(snapshot, from, dst, p, c), progress, ct).ConfigureAwait(false);
            bytes += sent;
        }
        throw new ReplicationRefusedException($"the replica did not reach {snapshot} after a resume and a send");
    }

    /// <summary>
    /// One stream into the replica; returns the bytes sent and the replica's state after it (its answer to the stream
    /// is that state: asking again would cost the replica two more zfs processes per pass).
    /// </summary>
    private async Task<(long Bytes, ReplicationReply State)> StreamAsync(SslStream ssl, string id, string? baseName, Func<Stream, IProgress<TransferProgress>?, CancellationToken, Task<long>> send,
        IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        await ReplicationWire.WriteAsync(ssl, new ReplicationRequest { Op = ReplicationWire.ReceiveOp, Volume = id, Base = baseName },
            ReplicationWireJsonContext.Default.ReplicationRequest, ct).ConfigureAwait(false);
        var chunks = new ChunkWriteStream(ssl);
        long n = await send(chunks, progress, ct).ConfigureAwait(false);
        await chunks.EndAsync(ct).ConfigureAwait(false);
        var done = await ReplicationWire.ReadAsync(ssl, ReplicationWireJsonContext.Default.ReplicationReply, ct).ConfigureAwait(false);
        if (!done.Ok) throw new ReplicationRefusedException("the replica refused the stream: " + done.Error);
        return (n, done);
    }

    private static async Task<ReplicationReply> AskAsync(SslStream ssl, ReplicationRequest request, CancellationToken ct)
    {
        await ReplicationWire.WriteAsync(ssl, request, ReplicationWireJsonContext.Default.ReplicationRequest, ct).ConfigureAwait(false);
        var reply = await ReplicationWire.ReadAsync(ssl, ReplicationWireJsonContext.Default.ReplicationReply, ct).ConfigureAwait(false);
        return reply.Ok ? reply : throw new ReplicationRefusedException("the replica refused: " + reply.Error);
    }

    /// <summary>Holds <paramref name="snapshot"/> as the target's base and releases the target's older holds.</summary>
    private void Hold(string ds, string host, string snapshot, IEnumerable<string> all)
    {
        string tag = ReplicationNames.HoldTag(host);
        if (!zfs.GetHolds(snapshot).Contains(tag)) zfs.Hold([snapshot], tag);
        foreach (var s in all)
            if (s != snapshot && ReplicationNames.TimeOf(ReplicationNames.ShortName(s)) is not null && zfs.GetHolds(s).Contains(tag))
                zfs.Release([s], tag);
        _ = ds;
    }
}
