using System.Globalization;
using System.Text;
using Kraud.Agent.State;
using Kraud.Libc;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// The ack subjects of the work tokens this process holds, as a journal &lt;stateDir&gt;/tokens/&lt;pid&gt;.log
/// (<c>+ seq replyTo subject</c> when taken, <c>- seq</c> when settled; emptied whenever nothing is held), locked for the
/// process's life. An agent killed with -9 leaves its journal and its lock goes with it; the next agent finds the
/// journal unlocked and hands the tokens still held back (-NAK) at once, so its host's work resumes within a second
/// instead of after ack_wait (30 s) with max_ack_pending full. A -NAK for a token that was in fact acked, or
/// redelivered since, is ignored by the server. One append per event and never flushed to disk: after a crash of
/// the whole host the server's ack_wait does the same, so durability would buy nothing.
/// </summary>
public sealed class HeldTokens : IDisposable
{
    private readonly string _path;
    private readonly FileStream _journal;
    private readonly object _gate = new();
    private int _held;

    private HeldTokens(string path, FileStream journal) => (_path, _journal) = (path, journal);

    public static HeldTokens Open(string stateDir)
    {
        string dir = Path.Combine(stateDir, "tokens");
        StateDir.CreateDirectory(dir);
        string path = Path.Combine(dir, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".log");
        // A journal with our pid is a long-dead predecessor's: ours starts empty.
        var journal = OpenJournal(path, FileMode.Create) ?? throw new IOException($"cannot lock {path}");
        return new HeldTokens(path, journal);
    }

    /// <param name="subject">The token's work subject (its resource): see <see cref="ReleaseDeadAsync"/>.</param>
    public void Add(ulong streamSeq, string replyTo, string subject) => Append($"+ {streamSeq} {replyTo} {subject}\n", +1);

    public void Remove(ulong streamSeq) => Append($"- {streamSeq}\n", -1);

    private void Append(string line, int change)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(line);
        lock (_gate)
        {
            try
            {
                _held += change;
                if (_held == 0 && change < 0 && _journal.Length > 64 * 1024) _journal.SetLength(0); // nothing held: start over
                else _journal.Write(bytes);
            }
            catch (IOException)
            {
                // Only a faster hand-back after a crash is lost.
            }
        }
    }

    /// <summary>
    /// Hands back (-NAK) the tokens every predecessor that is gone still held; returns how many.
    /// <paramref name="clearStalePullRequests"/> runs first when there is any: the predecessor's last pull request still
    /// waits at the server, and nats-server 2.9.10 loses a token handed back while it is the only one waiting. Then
    /// <paramref name="redispatch"/> runs for each of their work subjects: a predecessor killed between a token's
    /// confirmed +ACK and its status write left a resource whose work is done and whose status never came, with no
    /// token left to bring it back; a new token for it is refused while the handed-back one is still queued (10077),
    /// and otherwise has the resource reconciled again (idempotent), so its status is written.
    /// </summary>
    public static async Task<int> ReleaseDeadAsync(string stateDir, INatsConnection nats, Func<CancellationToken, Task> clearStalePullRequests,
        Func<string, CancellationToken, Task> redispatch, ILogger logger, CancellationToken ct)
    {
        string dir = Path.Combine(stateDir, "tokens");
        if (!Directory.Exists(dir)) return 0;
        string own = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".log";
        // Each journal stays locked until its tokens are handed back and it is deleted: one hand-back per token.
        var dead = new List<(string Path, FileStream Journal, List<Held> Held)>();
        var subjects = new SortedSet<string>(StringComparer.Ordinal);
        int released = 0;
        try
        {
            foreach (string path in Directory.EnumerateFiles(dir, "*.log"))
            {
                if (Path.GetFileName(path) == own) continue;
                var journal = OpenJournal(path, FileMode.Open);
                if (journal is null) continue; // its agent still runs
                dead.Add((path, journal, StillHeld(journal).ToList()));
            }
            if (dead.Any(d => d.Held.Count > 0)) await clearStalePullRequests(ct);
            foreach (var (path, _, held) in dead)
            {
                foreach (var token in held)
                {
                    await nats.PublishAsync(token.ReplyTo, "-NAK"u8.ToArray(), serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: ct);
                    if (token.Subject is { } subject) subjects.Add(subject);
                    released++;
                }
                File.Delete(path);
            }
        }
        finally
        {
            foreach (var d in dead) d.Journal.Dispose();
        }
        if (released > 0)
        {
            await nats.PingAsync(ct); // the -NAKs are on the server before work is pulled
            logger.LogInformation("handed back {Count} work tokens held by an agent that stopped without settling them", released);
        }
        foreach (string subject in subjects) await redispatch(subject, ct);
        return released;
    }

    /// <summary>A token a journal says is held: its ack subject, and its work subject (null in a journal from before it was recorded).</summary>
    private readonly record struct Held(string ReplyTo, string? Subject);

    private static IEnumerable<Held> StillHeld(FileStream journal)
    {
        var held = new Dictionary<string, Held>(StringComparer.Ordinal);
        using var reader = new StreamReader(journal, Encoding.ASCII, leaveOpen: true);
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            if (parts is ["+", var seq, var reply, ..] && reply.StartsWith("$JS.ACK.", StringComparison.Ordinal))
                held[seq] = new Held(reply, parts is [_, _, _, var subject] && subject.StartsWith("kraud.work.", StringComparison.Ordinal) ? subject : null);
            else if (parts is ["-", var done]) held.Remove(done);
        }
        return held.Values;
    }

    /// <summary>Opens and locks a journal (O_APPEND, 0600, one write per event); null when another process holds its lock.</summary>
    private static FileStream? OpenJournal(string path, FileMode mode)
    {
        FileStream fs;
        try
        {
            var options = new FileStreamOptions
            {
                Mode = mode, Access = mode == FileMode.Open ? FileAccess.Read : FileAccess.Write,
                Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0,
            };
            if (mode != FileMode.Open) options.UnixCreateMode = StateDir.FileMode;
            fs = new FileStream(path, options);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        if (mode != FileMode.Open) fs.Seek(0, SeekOrigin.End);
        if (Native.flock((int)fs.SafeFileHandle.DangerousGetHandle(), Native.LOCK_EX | Native.LOCK_NB) == 0) return fs;
        fs.Dispose();
        return null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _journal.Dispose();
            try
            {
                File.Delete(_path);
            }
            catch (IOException)
            {
            }
        }
    }
}
