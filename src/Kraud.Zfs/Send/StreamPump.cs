using System.IO.Pipes;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Kraud.Zfs.Send;

/// <summary>
/// Moves a stream into another through a few large buffers, reading and writing at once: one task fills a
/// buffer (reading until it is full or the stream ends), the other writes the previous one. Reading zfs send's
/// pipe then overlaps the TLS encryption of what was read, and the TLS decryption overlaps writing into zfs
/// receive's pipe; each write is a whole buffer, never the few KiB one pipe read or one TLS record gives.
/// </summary>
public static class StreamPump
{
    public const int BufferSize = 1 << 20;
    private const int Depth = 3;
    private const int F_SETPIPE_SZ = 1031; // fcntl.h (Linux)

    /// <summary>
    /// Copies <paramref name="from"/> to its end into <paramref name="to"/>; <paramref name="written"/> hears the
    /// running total after each write. A read error is thrown after what was read before it is written; a write
    /// error stops the reading.
    /// </summary>
    public static async Task<long> CopyAsync(Stream from, Stream to, Action<long>? written, CancellationToken ct)
    {
        var empty = Channel.CreateUnbounded<byte[]>();
        for (int i = 0; i < Depth; i++) empty.Writer.TryWrite(new byte[BufferSize]);
        var full = Channel.CreateUnbounded<(byte[] Buffer, int Count)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ExceptionDispatchInfo? readError = null;
        var reader = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var buffer = await empty.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
                    int n = 0, r;
                    while (n < buffer.Length && (r = await from.ReadAsync(buffer.AsMemory(n), stop.Token).ConfigureAwait(false)) > 0) n += r;
                    if (n > 0) full.Writer.TryWrite((buffer, n));
                    if (n < buffer.Length) break; // the end of the stream
                }
            }
            catch (Exception e) { readError = ExceptionDispatchInfo.Capture(e); }
            finally { full.Writer.TryComplete(); }
        }, CancellationToken.None);
        long total = 0;
        try
        {
            await foreach (var (buffer, count) in full.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                await to.WriteAsync(buffer.AsMemory(0, count), ct).ConfigureAwait(false);
                total += count;
                written?.Invoke(total);
                empty.Writer.TryWrite(buffer);
            }
        }
        catch
        {
            // The reader is not awaited: a pipe read need not heed the cancellation, and the caller closes the stream
            // once this throws (CliWrap does), which ends that read and stops the program at the pipe's other end
            // (EPIPE). The reader catches everything, so nothing goes unobserved.
            stop.Cancel();
            throw;
        }
        await reader.ConfigureAwait(false);
        // A cancelled read that the writer caused is not the error; a read that failed on its own is.
        readError?.Throw();
        return total;
    }

    /// <summary>
    /// Grows a pipe to 1 MiB (from the kernel's 64 KiB) where the stream is one, so the program at its other end
    /// writes or reads in larger steps and both sides wake each other less. Best effort: the size is only speed.
    /// </summary>
    public static void GrowPipe(Stream s)
    {
        if (s is not PipeStream pipe) return;
        bool added = false;
        try
        {
            pipe.SafePipeHandle.DangerousAddRef(ref added);
            _ = Kraud.Libc.Native.fcntl((int)pipe.SafePipeHandle.DangerousGetHandle(), F_SETPIPE_SZ, BufferSize);
        }
        catch (ObjectDisposedException) { }
        finally { if (added) pipe.SafePipeHandle.DangerousRelease(); }
    }
}
