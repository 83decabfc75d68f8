using Kraud.Libc;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Kraud.Agent.Work;

/// <summary>
/// The ack subjects of the work tokens this process holds, one file each under
/// &lt;stateDir&gt;/tokens/&lt;pid&gt;/, with that directory's lock held for the process's life. An agent killed with
/// -9 leaves its records and its lock goes with it; the next agent finds the directory unlocked and hands those
/// tokens back (-NAK) at once, so its host's work resumes within a second instead of after ack_wait (30 s) with
/// max_ack_pending full. A -NAK for a token that was in fact acked, or redelivered since, is ignored by the server.
/// Not flushed to disk: after a crash of the whole host the server's ack_wait does the same.
/// </summary>
public sealed class HeldTokens : IDisposable
{
    private readonly string _dir;
    private readonly int _lockFd;

    private HeldTokens(string dir, int lockFd) => (_dir, _lockFd) = (dir, lockFd);

    public static HeldTokens Open(string stateDir)
    {
        string dir = Path.Combine(stateDir, "tokens", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); // a predecessor with our pid is long dead
        StateDir.CreateDirectory(dir);
        int fd = Lock(dir, wait: true) ?? throw new IOException($"cannot lock {dir}");
        return new HeldTokens(dir, fd);
    }

    public void Add(ulong streamSeq, string replyTo)
    {
        try
        {
            StateDir.WriteFile(Path.Combine(_dir, streamSeq.ToString(System.Globalization.CultureInfo.InvariantCulture)), replyTo);
        }
        catch (IOException)
        {
            // Only a faster hand-back after a crash is lost.
        }
    }

    public void Remove(ulong streamSeq) => File.Delete(Path.Combine(_dir, streamSeq.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Hands back (-NAK) the tokens of every predecessor that is gone; returns how many.</summary>
    public static async Task<int> ReleaseDeadAsync(string stateDir, INatsConnection nats, ILogger logger, CancellationToken ct)
    {
        string root = Path.Combine(stateDir, "tokens");
        if (!Directory.Exists(root)) return 0;
        int released = 0;
        foreach (string dir in Directory.EnumerateDirectories(root))
        {
            if (Path.GetFileName(dir) == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
            if (Lock(dir, wait: false) is not { } fd) continue; // its agent still runs
            try
            {
                foreach (string file in Directory.EnumerateFiles(dir))
                {
                    if (Path.GetFileName(file) == "lock") continue;
                    string replyTo = File.ReadAllText(file).Trim();
                    if (!replyTo.StartsWith("$JS.ACK.", StringComparison.Ordinal)) continue;
                    await nats.PublishAsync(replyTo, "-NAK"u8.ToArray(), serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: ct);
                    released++;
                }
                Directory.Delete(dir, recursive: true);
            }
            finally
            {
                Native.close(fd);
            }
        }
        if (released > 0)
        {
            await nats.PingAsync(ct); // the -NAKs are on the server before work is pulled
            logger.LogInformation("handed back {Count} work tokens held by an agent that stopped without settling them", released);
        }
        return released;
    }

    private static int? Lock(string dir, bool wait)
    {
        int fd = Native.open(Path.Combine(dir, "lock"), Native.O_RDWR | Native.O_CREAT, 0x180 /* 0600 */);
        if (fd < 0) return null;
        if (Native.flock(fd, Native.LOCK_EX | (wait ? 0 : Native.LOCK_NB)) == 0) return fd;
        Native.close(fd);
        return null;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        Native.close(_lockFd);
    }
}
