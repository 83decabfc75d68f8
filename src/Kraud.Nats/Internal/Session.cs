using System.Collections.Concurrent;

namespace Kraud.Nats.Internal;

/// <summary>One live socket to one server: its stream, reader, loops and PONG waiters.</summary>
internal sealed class Session(NatsUri uri, Stream stream, ProtocolReader reader, NatsServerInfo info)
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failed;

    public NatsUri Uri { get; } = uri;
    public Stream Stream { get; } = stream;
    public ProtocolReader Reader { get; } = reader;
    public NatsServerInfo Info { get; set; } = info;
    public CancellationTokenSource Cts { get; } = new();
    public CancellationToken Token => Cts.Token;

    /// <summary>PONG waiters in PING order; null entries are the keep-alive pings.</summary>
    public ConcurrentQueue<TaskCompletionSource?> Pongs { get; } = new();

    public int PingsOut;

    public Task ReadTask { get; set; } = Task.CompletedTask;
    public Task WriteTask { get; set; } = Task.CompletedTask;
    public Task PingTask { get; set; } = Task.CompletedTask;

    /// <summary>The loops wait on this so they start only once the session is installed.</summary>
    public Task Started => _started.Task;

    public void MarkStarted() => _started.TrySetResult();

    /// <summary>True for the first caller only.</summary>
    public bool TryMarkFailed() => Interlocked.Exchange(ref _failed, 1) == 0;

    public bool Failed => Volatile.Read(ref _failed) != 0;

    public async Task WaitStoppedAsync()
    {
        _started.TrySetResult();
        try { await Task.WhenAll(ReadTask, WriteTask, PingTask).ConfigureAwait(false); }
        catch (Exception) { /* the loops' errors already failed the session and were reported there */ }
        Reader.Dispose();
    }
}
