using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Kraud.Oci;

/// <summary>Opens a blob's bytes from <c>offset</c> on (or from 0: the result says where it starts).</summary>
public delegate Task<BlobRange> BlobSource(long offset, CancellationToken ct);

/// <summary>Bytes done of a transfer, and the total when known.</summary>
public readonly record struct TransferProgress(long Done, long? Total);

public sealed partial class BlobStore
{
    private const int BufferSize = 256 * 1024;
    private const int MaxAttempts = 3;

    /// <summary>A read that brings nothing for this long fails the attempt (a stalled connection, not a slow one).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    private readonly Dictionary<Digest, Flight> _inFlight = new();

    /// <summary>One download of one blob, shared by every caller that wants that blob meanwhile.</summary>
    private sealed class Flight
    {
        public readonly CancellationTokenSource Cancel = new();
        public readonly List<Action<TransferProgress>> Listeners = [];
        public int Waiters;
        public Task<string> Task = null!;
    }

    /// <summary>
    /// The path of the blob, downloading it first if absent: into <c>.&lt;hex&gt;.partial</c> beside it, sha256
    /// checked while streaming, fsync'd, renamed. Bytes beyond <paramref name="size"/> or a wrong digest delete the
    /// partial file and throw; a connection that ends early is resumed from the partial file (HTTP Range) up to
    /// three attempts, and the partial file is kept for a later call if all fail. Concurrent calls for one digest
    /// share one download; it is cancelled only when every caller has cancelled. Reference the blob
    /// (<see cref="Reference"/>) before fetching it, or the garbage collector may take it back.
    /// </summary>
    /// <param name="size">The size the manifest declares, or null when unknown (a bali file).</param>
    /// <param name="progress">Called with bytes done and total, from the downloading thread; keep it quick.</param>
    public async Task<string> GetOrAddAsync(Digest digest, long? size, BlobSource source, Action<TransferProgress>? progress,
        CancellationToken ct)
    {
        string path = PathOf(digest);
        Flight? flight = null;
        long stored = -1;
        lock (_gate)
        {
            if (IsStored(path, digest, size))
            {
                stored = new FileInfo(path).Length;
            }
            else
            {
                if (!_inFlight.TryGetValue(digest, out flight) || flight.Cancel.IsCancellationRequested)
                {
                    // A download whose callers all left is still winding down: the new one starts after it, on the
                    // same partial file.
                    Task? previous = flight?.Task;
                    var started = flight = new Flight();
                    started.Task = Task.Run(() => FlyAsync(started, previous, digest, size, source));
                    _inFlight[digest] = started;
                }
                flight.Waiters++;
                if (progress is not null) flight.Listeners.Add(progress);
            }
        }
        if (flight is null)
        {
            // Outside the lock: a callback may well call back into the store.
            progress?.Invoke(new TransferProgress(stored, stored));
            return path;
        }
        try
        {
            return await flight.Task.WaitAsync(ct);
        }
        finally
        {
            lock (_gate)
            {
                flight.Waiters--;
                if (progress is not null) flight.Listeners.Remove(progress);
                if (flight.Waiters == 0 && !flight.Task.IsCompleted) flight.Cancel.Cancel();
            }
        }
    }

    // Called under _gate. A stored blob whose length is not the declared size was damaged outside the store.
    private bool IsStored(string path, Digest digest, long? size)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        if (size is null || info.Length == size) return true;
        _logger.LogWarning("blob store: {Digest} is {Length} bytes on disk, not the {Size} declared; fetching it again", digest, info.Length, size);
        File.Delete(path);
        return false;
    }

    private async Task<string> FlyAsync(Flight flight, Task? previous, Digest digest, long? size, BlobSource source)
    {
        try
        {
            if (previous is not null)
            {
                try { await previous; } catch { /* its callers saw the error; this flight tries afresh */ }
            }
            return await DownloadAsync(flight, digest, size, source, flight.Cancel.Token);
        }
        finally
        {
            lock (_gate)
            {
                if (_inFlight.TryGetValue(digest, out var current) && current == flight) _inFlight.Remove(digest);
            }
            // flight.Cancel is not disposed: a leaving caller may still cancel it, and without a timer it holds nothing.
        }
    }

    private async Task<string> DownloadAsync(Flight flight, Digest digest, long? size, BlobSource source, CancellationToken ct)
    {
        string path = PathOf(digest), partial = PartialPathOf(digest);
        lock (_gate)
        {
            if (File.Exists(path)) return path;
        }
        bool restartedClean = false;
        for (int attempt = 1; ; attempt++)
        {
            long before = PartialLength(partial);
            try
            {
                await DownloadOnceAsync(flight, digest, size, source, partial, ct);
                break;
            }
            catch (DigestMismatchException) when (before > 0 && !restartedClean)
            {
                // The bytes kept from an earlier attempt may be what is wrong (a different source, a damaged disk):
                // one fresh start from byte 0 before calling the blob bad.
                restartedClean = true;
                _logger.LogWarning("blob store: {Digest} did not verify after resuming at {Offset}; starting over", digest, before);
            }
            catch (Exception e) when (IsTransfer(e) && attempt < MaxAttempts && PartialLength(partial) > before)
            {
                _logger.LogInformation("blob store: {Digest}: {Error}; resuming at byte {Offset} (attempt {Next} of {Max})",
                    digest, e.Message, PartialLength(partial), attempt + 1, MaxAttempts);
            }
        }
        lock (_gate)
        {
            File.Move(partial, path, overwrite: true);
            Native.FsyncDirectory(BlobDirectory);
            _lastUsed[digest] = _time.GetUtcNow();
            SaveState();
        }
        _logger.LogDebug("blob store: stored {Digest} ({Bytes} bytes)", digest, new FileInfo(path).Length);
        return path;
    }

    private async Task DownloadOnceAsync(Flight flight, Digest digest, long? size, BlobSource source, string partial, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(partial, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None,
            UnixCreateMode = AtomicFile.Private, Options = FileOptions.Asynchronous, BufferSize = 0,
        });
        long have = file.Length;
        if (size is { } s && have > s) have = 0;
        byte[] buffer = new byte[BufferSize];
        // Resuming: the kept bytes go through the hash again (IncrementalHash cannot be seeded with a state).
        file.Position = 0;
        for (long left = have; left > 0;)
        {
            int n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
            if (n == 0) { have -= left; break; }
            hash.AppendData(buffer, 0, n);
            left -= n;
        }

        // A partial file already whole (a crash between fsync and rename) needs no request: a range from its end
        // would only get a 416.
        BlobRange range = size is { } whole && have == whole
            ? new BlobRange(Stream.Null, have, 0)
            : await source(have, ct);
        await using Stream body = range.Content;
        if (range.Start != have)
        {
            if (range.Start != 0) throw new OciException($"blob {digest}: asked for bytes from {have}, the source sent from {range.Start}", permanent: false);
            hash.GetHashAndReset();
            have = 0;
        }
        file.SetLength(have);
        file.Position = have;
        long? total = size ?? (range.Length is { } l ? range.Start + l : null);
        if (size is not null && range.Length is { } length && range.Start + length != size)
        {
            File.Delete(partial);
            throw new ImageFormatException($"blob {digest}: the source has {range.Start + length} bytes, the manifest declares {size}");
        }
        Report(flight, have, total);

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        while (true)
        {
            idle.CancelAfter(IdleTimeout);
            int n;
            try
            {
                n = await body.ReadAsync(buffer, idle.Token);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new OciException($"blob {digest}: no data for {IdleTimeout.TotalSeconds:0} s after {have} bytes", permanent: false, e);
            }
            if (n == 0) break;
            if (size is { } limit && have + n > limit)
            {
                file.Close();
                File.Delete(partial);
                throw new OciException($"blob {digest}: the source sent more than the {limit} bytes declared; refused", permanent: true);
            }
            hash.AppendData(buffer, 0, n);
            await file.WriteAsync(buffer.AsMemory(0, n), ct);
            have += n;
            Report(flight, have, total);
        }
        if (size is { } expected && have < expected)
            throw new OciException($"blob {digest}: the source ended after {have} of {expected} bytes", permanent: false);

        var actual = Digest.FromHash(hash.GetHashAndReset());
        if (actual != digest)
        {
            file.Close();
            File.Delete(partial);
            throw new DigestMismatchException($"blob {digest}", digest, actual);
        }
        file.Flush(flushToDisk: true);
    }

    private void Report(Flight flight, long done, long? total)
    {
        Action<TransferProgress>[] listeners;
        lock (_gate) listeners = [.. flight.Listeners];
        var p = new TransferProgress(done, total);
        foreach (var l in listeners)
        {
            try
            {
                l(p);
            }
            catch (Exception e)
            {
                // One caller's broken callback must not fail the transfer the others share.
                _logger.LogWarning(e, "blob store: a progress callback failed");
            }
        }
    }

    private string PartialPathOf(Digest digest) => Path.Combine(BlobDirectory, $".{digest.Hex}.partial");

    private static long PartialLength(string partial) => File.Exists(partial) ? new FileInfo(partial).Length : 0;

    // Failures of the transfer itself, worth a resumed attempt; not a refusal of the content.
    private static bool IsTransfer(Exception e) =>
        e is IOException or HttpRequestException || (e is OciException o && !o.IsPermanent);
}
