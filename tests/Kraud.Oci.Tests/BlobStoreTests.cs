using System.Security.Cryptography;
using Kraud.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Kraud.Oci.Tests;

/// <summary>
/// The store on a real file system with sources the test controls (bytes in memory, a gate to hold a transfer open):
/// verification, sharing a download, references, grace period, LRU eviction, restart. Time is a FakeTimeProvider.
/// </summary>
public sealed class BlobStoreTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);
    private readonly TempDir _dir = new("kraud-blobstore");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private BlobStore Open() => new(_dir.Path, time: _time);

    private static BlobSource Bytes(byte[] content) =>
        (offset, _) => Task.FromResult(new BlobRange(new MemoryStream(content, (int)offset, content.Length - (int)offset), offset, content.Length - offset));

    private static async Task<Digest> AddAsync(BlobStore store, byte[] content)
    {
        var d = Digest.Of(content);
        await store.GetOrAddAsync(d, content.Length, Bytes(content), null, CancellationToken.None);
        return d;
    }

    [Fact]
    public async Task Bytes_that_do_not_hash_to_the_digest_are_refused_and_leave_nothing()
    {
        using var store = Open();
        byte[] wanted = RandomNumberGenerator.GetBytes(5000), served = RandomNumberGenerator.GetBytes(5000);
        var digest = Digest.Of(wanted);

        var e = await Assert.ThrowsAsync<DigestMismatchException>(() => store.GetOrAddAsync(digest, 5000, Bytes(served), null, CancellationToken.None));

        Assert.Equal(digest, e.Expected);
        Assert.Equal(Digest.Of(served), e.Actual);
        Assert.Contains(digest.ToString(), e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(store.BlobDirectory));
    }

    [Fact]
    public async Task More_bytes_than_declared_are_refused_before_they_are_all_read()
    {
        using var store = Open();
        byte[] content = RandomNumberGenerator.GetBytes(3 * 256 * 1024);

        var e = await Assert.ThrowsAsync<OciException>(() => store.GetOrAddAsync(Digest.Of(content), 1000,
            (_, _) => Task.FromResult(new BlobRange(new MemoryStream(content), 0, null)), null, CancellationToken.None));

        Assert.Contains("more than the 1000 bytes declared", e.Message);
        Assert.True(e.IsPermanent);
        Assert.Empty(Directory.GetFileSystemEntries(store.BlobDirectory));
    }

    [Fact]
    public async Task Two_callers_of_one_blob_share_one_transfer_and_one_leaving_does_not_stop_it()
    {
        using var store = Open();
        byte[] content = RandomNumberGenerator.GetBytes(100_000);
        var digest = Digest.Of(content);
        var gate = new GatedStream(content);
        int opened = 0;
        BlobSource source = (_, _) => { Interlocked.Increment(ref opened); return Task.FromResult(new BlobRange(gate, 0, content.Length)); };
        using var leaves = new CancellationTokenSource();

        var first = store.GetOrAddAsync(digest, content.Length, source, null, leaves.Token);
        var second = store.GetOrAddAsync(digest, content.Length, source, null, CancellationToken.None);
        await Deadline.WaitUntilAsync(() => gate.Reading, TimeSpan.FromSeconds(10), "the transfer to start");
        leaves.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        gate.Open();

        Assert.Equal(store.PathOf(digest), await second);
        Assert.Equal(1, opened);
        Assert.Equal(content, File.ReadAllBytes(store.PathOf(digest)));
    }

    [Fact]
    public async Task When_every_caller_leaves_the_transfer_stops_and_a_later_call_resumes_from_the_partial_file()
    {
        using var store = Open();
        byte[] content = RandomNumberGenerator.GetBytes(600_000);
        var digest = Digest.Of(content);
        var gate = new GatedStream(content, openFor: 300_000);
        using var leaves = new CancellationTokenSource();

        var call = store.GetOrAddAsync(digest, content.Length, (_, _) => Task.FromResult(new BlobRange(gate, 0, content.Length)), null, leaves.Token);
        await Deadline.WaitUntilAsync(() => gate.Position >= 300_000 && gate.Reading, TimeSpan.FromSeconds(10), "the first 300000 bytes");
        leaves.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        string partial = Path.Combine(store.BlobDirectory, $".{digest.Hex}.partial");
        await Deadline.WaitUntilAsync(() => gate.Cancelled, TimeSpan.FromSeconds(10), "the transfer to be cancelled");
        long kept = new FileInfo(partial).Length;
        var offsets = new List<long>();

        await store.GetOrAddAsync(digest, content.Length, (o, ct) => { offsets.Add(o); return Bytes(content)(o, ct); }, null, CancellationToken.None);

        Assert.True(kept >= 256 * 1024, $"kept {kept} bytes");
        Assert.Equal([kept], offsets);
        Assert.Equal(content, File.ReadAllBytes(store.PathOf(digest)));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task A_whole_partial_file_left_by_a_crash_before_the_rename_is_verified_and_kept_without_a_request()
    {
        using var store = Open();
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var digest = Digest.Of(content);
        File.WriteAllBytes(Path.Combine(store.BlobDirectory, $".{digest.Hex}.partial"), content);

        string path = await store.GetOrAddAsync(digest, content.Length,
            (_, _) => throw new InvalidOperationException("no request expected"), null, CancellationToken.None);

        Assert.Equal(content, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task A_blob_no_owner_uses_goes_after_the_grace_period_and_a_referenced_one_stays()
    {
        using var store = Open();
        var kept = await AddAsync(store, "kept"u8.ToArray());
        var loose = await AddAsync(store, "loose"u8.ToArray());
        store.Reference("pod-1", [kept]);

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.Empty(store.CollectGarbage(Grace, long.MaxValue).Removed);
        _time.Advance(TimeSpan.FromMinutes(2));
        GcResult result = store.CollectGarbage(Grace, long.MaxValue);

        Assert.Equal([loose], result.Removed);
        Assert.Equal(5, result.FreedBytes);
        Assert.False(File.Exists(store.PathOf(loose)));
        Assert.True(File.Exists(store.PathOf(kept)));

        store.Release("pod-1");
        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.Empty(store.CollectGarbage(Grace, long.MaxValue).Removed);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal([kept], store.CollectGarbage(Grace, long.MaxValue).Removed);
        Assert.Empty(Directory.GetFiles(store.BlobDirectory));
    }

    [Fact]
    public async Task Over_the_size_limit_the_least_recently_used_unreferenced_blobs_go_first_even_within_grace()
    {
        using var store = Open();
        var oldest = await AddAsync(store, RandomNumberGenerator.GetBytes(1000));
        _time.Advance(TimeSpan.FromMinutes(1));
        var referenced = await AddAsync(store, RandomNumberGenerator.GetBytes(1000));
        _time.Advance(TimeSpan.FromMinutes(1));
        var middle = await AddAsync(store, RandomNumberGenerator.GetBytes(1000));
        _time.Advance(TimeSpan.FromMinutes(1));
        var newest = await AddAsync(store, RandomNumberGenerator.GetBytes(1000));
        store.Reference("pod", [referenced]);
        _time.Advance(TimeSpan.FromMinutes(1));
        store.Release("pod"); // now the most recently used

        GcResult result = store.CollectGarbage(Grace, maxBytes: 2500);

        Assert.Equal([oldest, middle], result.Removed);
        Assert.Equal(2000, result.StoredBytes);
        Assert.True(store.Contains(newest));
        Assert.True(store.Contains(referenced));
    }

    [Fact]
    public async Task Referenced_blobs_are_never_evicted_even_over_the_limit()
    {
        using var store = Open();
        var a = await AddAsync(store, RandomNumberGenerator.GetBytes(1000));
        store.Reference("pod", [a]);

        GcResult result = store.CollectGarbage(TimeSpan.Zero, maxBytes: 10);

        Assert.Empty(result.Removed);
        Assert.Equal(1000, result.ReferencedBytes);
        Assert.True(store.Contains(a));
    }

    [Fact]
    public async Task References_and_use_times_survive_a_restart()
    {
        Digest a, b;
        using (var store = Open())
        {
            a = await AddAsync(store, "a"u8.ToArray());
            b = await AddAsync(store, "b"u8.ToArray());
            store.Reference("pod-a", [a]);
            store.Reference("pod-b", [b]);
            store.Release("pod-b");
        }
        _time.Advance(TimeSpan.FromMinutes(61));
        using var reopened = Open();

        Assert.Equal(["pod-a"], reopened.Owners);
        Assert.Equal([a], reopened.ReferencesOf("pod-a"));
        // b was released before the restart: its grace ran on while the store was closed.
        Assert.Equal([b], reopened.CollectGarbage(Grace, long.MaxValue).Removed);
        Assert.Empty(Directory.GetFiles(reopened.Root, "*.tmp"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(reopened.Root, "refs.json")));
    }

    [Fact]
    public async Task An_unreadable_state_file_is_moved_aside_and_its_blobs_get_a_full_grace_period()
    {
        Digest a;
        using (var store = Open()) a = await AddAsync(store, "a"u8.ToArray());
        File.WriteAllText(Path.Combine(_dir.Path, "refs.json"), "{ torn");
        _time.Advance(TimeSpan.FromHours(5));

        using var reopened = Open();
        Assert.Empty(reopened.CollectGarbage(Grace, long.MaxValue).Removed);
        Assert.Single(Directory.GetFiles(_dir.Path, "refs.json.corrupt-*"));
        _time.Advance(Grace);
        Assert.Equal([a], reopened.CollectGarbage(Grace, long.MaxValue).Removed);
    }

    [Fact]
    public void A_second_store_on_the_same_root_is_refused()
    {
        using var store = Open();

        var e = Assert.Throws<OciException>(() => new BlobStore(_dir.Path));

        Assert.Contains($"blob store {store.Root} is in use", e.Message);
    }

    [Fact]
    public async Task A_stale_partial_file_goes_after_the_grace_period()
    {
        using var store = Open();
        string partial = Path.Combine(store.BlobDirectory, $".{Digest.Of("x"u8).Hex}.partial");
        await File.WriteAllBytesAsync(partial, [1, 2, 3]);
        File.SetLastWriteTimeUtc(partial, _time.GetUtcNow().UtcDateTime);

        store.CollectGarbage(Grace, long.MaxValue);
        Assert.True(File.Exists(partial));
        _time.Advance(Grace);
        store.CollectGarbage(Grace, long.MaxValue);
        Assert.False(File.Exists(partial));
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Serves bytes until <c>openFor</c>, then waits for Open() (or cancellation) before serving the rest.</summary>
    private sealed class GatedStream(byte[] content, int openFor = 0) : Stream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _position;
        public volatile bool Reading;
        public volatile bool Cancelled;

        public void Open() => _open.TrySetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_position >= openFor)
            {
                Reading = true;
                try
                {
                    await _open.Task.WaitAsync(ct);
                }
                catch (OperationCanceledException)
                {
                    Cancelled = true;
                    throw;
                }
            }
            int n = (int)Math.Min(buffer.Length, content.Length - _position);
            if (_position < openFor) n = (int)Math.Min(n, openFor - _position);
            content.AsMemory((int)_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => content.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
