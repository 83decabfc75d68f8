using CliWrap;
using Kraud.Zfs.Names;

namespace Kraud.Zfs.Send;

/// <summary>
/// `zfs send` and `zfs receive` with the stream passing through the agent, so every byte is counted and the
/// progress callback can keep a long job's work token alive (+WPI). Receives are resumable (-s): when one is
/// cut off, the target keeps a receive_resume_token and <see cref="ResumeSendAsync"/> continues from it. The stream
/// goes through CliWrap pipes (grown to 1 MiB) a few 1 MiB buffers at a time (<see cref="StreamPump"/>: reading
/// overlaps writing), never held whole.
/// </summary>
public sealed class ZfsSendReceive(ZfsCli? cli = null)
{
    public ZfsCli Cli { get; } = cli ?? new ZfsCli();
    public TimeSpan Limit { get; init; } = TimeSpan.FromHours(24);
    /// <summary>How often progress is reported at most (and always at the end).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The send size estimate in bytes (`zfs send -nP`), full or incremental from <paramref name="from"/>.</summary>
    public Task<long> EstimateAsync(string snapshot, string? from = null, CancellationToken ct = default) =>
        EstimateArgvAsync(SendArgs(snapshot, from, dryRun: true), snapshot, ct);

    public Task<long> EstimateResumeAsync(string token, CancellationToken ct = default) =>
        EstimateArgvAsync([Cli.ZfsPath, "send", "-n", "-P", "-t", CheckToken(token)], "resume token", ct);

    /// <summary>Writes the stream of <paramref name="snapshot"/> (incremental from <paramref name="from"/>) into <paramref name="destination"/>.</summary>
    public async Task<long> SendAsync(string snapshot, string? from, Stream destination, IProgress<TransferProgress>? progress = null, CancellationToken ct = default)
    {
        long estimate = await EstimateAsync(snapshot, from, ct).ConfigureAwait(false);
        return await PumpSendAsync(SendArgs(snapshot, from, dryRun: false), snapshot, destination, estimate, progress, ct).ConfigureAwait(false);
    }

    /// <summary>Continues a cut-off send from the target's receive_resume_token.</summary>
    public async Task<long> ResumeSendAsync(string token, Stream destination, IProgress<TransferProgress>? progress = null, CancellationToken ct = default)
    {
        long estimate = await EstimateResumeAsync(token, ct).ConfigureAwait(false);
        return await PumpSendAsync([Cli.ZfsPath, "send", "-t", CheckToken(token)], "resume token", destination, estimate, progress, ct).ConfigureAwait(false);
    }

    /// <summary>Receives a stream into <paramref name="dataset"/>, resumable, not mounted (-u).</summary>
    public Task ReceiveAsync(string dataset, Stream source, CancellationToken ct = default) => ReceiveAsync(dataset, source, null, ct);

    /// <summary>
    /// Receives a stream into <paramref name="dataset"/>, resumable, not mounted (-u), with <paramref name="properties"/>
    /// set on it as the stream lands (`-o name=value`: a new dataset carries them from its first moment).
    /// </summary>
    public async Task ReceiveAsync(string dataset, Stream source, IReadOnlyDictionary<string, string>? properties, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(dataset);
        var argv = new List<string> { Cli.ZfsPath, "receive", "-s", "-u" };
        foreach (var (k, v) in properties ?? new Dictionary<string, string>())
        {
            if (k.Length == 0 || k.Contains('=') || k.StartsWith('-') || v.Any(char.IsControl)) throw new ArgumentException($"not a property to receive with: {k}", nameof(properties));
            argv.Add("-o"); argv.Add($"{k}={v}");
        }
        argv.Add(dataset);
        Exception? copyError = null;
        var stdin = PipeSource.Create(async (receiverStdin, pipeCt) =>
        {
            StreamPump.GrowPipe(receiverStdin);
            try { await StreamPump.CopyAsync(source, receiverStdin, null, pipeCt).ConfigureAwait(false); }
            catch (IOException e) { copyError = e; } // the receiver quit early (its stderr says why), or the source failed
        });
        // Cancelling kills the receive (its partial state stays resumable); its end closes our side of the pipe.
        var r = await Cli.Runner.RunPipedAsync(argv, stdin, stdout: null, Limit, ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("receive", dataset, r.Stderr);
        if (copyError is not null) throw copyError;
    }

    /// <summary>
    /// Sends into a receive on this host (full, or incremental from <paramref name="from"/>), or resumes from the
    /// target's token when <paramref name="resumeToken"/> is given. Cancelling cuts the stream: the target keeps
    /// a resume token. Returns the bytes moved.
    /// </summary>
    public async Task<long> TransferAsync(string? snapshot, string? from, string targetDataset, string? resumeToken = null,
        IProgress<TransferProgress>? progress = null, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(targetDataset);
        IReadOnlyList<string> sendArgv = resumeToken is not null
            ? [Cli.ZfsPath, "send", "-t", CheckToken(resumeToken)]
            : SendArgs(snapshot ?? throw new ArgumentNullException(nameof(snapshot)), from, dryRun: false);
        long estimate = resumeToken is not null ? await EstimateResumeAsync(resumeToken, ct).ConfigureAwait(false)
            : await EstimateAsync(snapshot!, from, ct).ConfigureAwait(false);
        long moved = 0;
        Exception? sendError = null;
        Task? pump = null;
        // zfs send's stdout is pumped into zfs receive's stdin by the receive's stdin pipe. Cancelling ends the send
        // only: the receiver then sees the end of its stream and keeps its partial state for resuming. The pump is
        // awaited on its own, because CliWrap stops waiting for a stdin pipe once the receiver has exited.
        var stdin = PipeSource.Create((receiverStdin, _) => pump = PumpIntoAsync(receiverStdin));
        async Task PumpIntoAsync(Stream receiverStdin)
        {
            StreamPump.GrowPipe(receiverStdin);
            try { moved = await PumpSendAsync(sendArgv, snapshot ?? "resume token", receiverStdin, estimate, progress, ct).ConfigureAwait(false); }
            catch (Exception e) { sendError = e; }
        }
        var r = await Cli.Runner.RunPipedAsync([Cli.ZfsPath, "receive", "-s", "-u", targetDataset], stdin, stdout: null, Limit, CancellationToken.None)
            .ConfigureAwait(false);
        if (pump is not null) await pump.ConfigureAwait(false);
        if (sendError is OperationCanceledException && ct.IsCancellationRequested) throw sendError;
        if (!r.Succeeded) throw ZfsException.FromStderr("receive", targetDataset, r.Stderr);
        if (sendError is not null) throw sendError;
        return moved;
    }

    /// <summary>The token a cut-off resumable receive left on <paramref name="dataset"/>, or null.</summary>
    public async Task<string?> GetResumeTokenAsync(string dataset, CancellationToken ct = default)
    {
        var p = await Cli.GetAsync(dataset, ["receive_resume_token"], ct).ConfigureAwait(false);
        return p.TryGetValue("receive_resume_token", out var v) && v.Value != "-" && v.Value.Length > 0 ? v.Value : null;
    }

    /// <summary>Discards a partial receive (`zfs receive -A`).</summary>
    public async Task AbortReceiveAsync(string dataset, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(dataset);
        var r = await Cli.Runner.RunAsync([Cli.ZfsPath, "receive", "-A", dataset], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("receive -A", dataset, r.Stderr);
    }

    private List<string> SendArgs(string snapshot, string? from, bool dryRun)
    {
        ZfsNames.CheckSnapshot(snapshot);
        var argv = new List<string> { Cli.ZfsPath, "send" };
        if (dryRun) { argv.Add("-n"); argv.Add("-P"); }
        if (from is not null)
        {
            if (from.Contains('#')) ZfsNames.CheckBookmark(from); else ZfsNames.CheckSnapshot(from);
            argv.Add("-i"); argv.Add(from);
        }
        argv.Add(snapshot);
        return argv;
    }

    private async Task<long> EstimateArgvAsync(IReadOnlyList<string> argv, string what, CancellationToken ct)
    {
        var r = await Cli.Runner.RunAsync(argv, ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("send estimate", what, r.Stderr);
        // -P prints "size\t<bytes>" (to stdout on 2.x; older builds used stderr).
        foreach (var line in ZfsCli.Lines(r.Stdout + "\n" + r.Stderr))
        {
            var c = line.Split('\t');
            if (c.Length == 2 && c[0] == "size" && long.TryParse(c[1], out long n)) return n;
        }
        throw new FormatException($"zfs send -nP printed no size line for {what}: {r.Stdout.Trim()}");
    }

    private async Task<long> PumpSendAsync(IReadOnlyList<string> argv, string what, Stream destination, long estimate,
        IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        long total = 0;
        var lastReport = DateTime.UtcNow;
        progress?.Report(new TransferProgress(0, estimate));
        var stdout = PipeTarget.Create(async (senderStdout, pipeCt) =>
        {
            StreamPump.GrowPipe(senderStdout);
            await StreamPump.CopyAsync(senderStdout, destination, moved =>
            {
                total = moved;
                if (progress is not null && DateTime.UtcNow - lastReport >= ProgressInterval)
                {
                    progress.Report(new TransferProgress(total, estimate));
                    lastReport = DateTime.UtcNow;
                }
            }, pipeCt).ConfigureAwait(false);
        });
        // Cancelling kills the send; a destination that fails closes the send's stdout, so the send ends too.
        var r = await Cli.Runner.RunPipedAsync(argv, stdin: null, stdout, Limit, ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("send", what, r.Stderr);
        progress?.Report(new TransferProgress(total, estimate));
        return total;
    }

    // Tokens are base-16/base-64ish "1-<hex>-<hex>-<data>"; nothing else may become an argument.
    private static string CheckToken(string token)
    {
        if (token.Length == 0 || token.Length > 65536 || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '/' or '='))
            throw new ArgumentException("not a zfs receive_resume_token", nameof(token));
        return token;
    }
}
