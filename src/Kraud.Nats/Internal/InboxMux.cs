using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text;

namespace Kraud.Nats.Internal;

/// <summary>
/// The one muxed reply inbox for requests: SUB to "&lt;prefix&gt;.&lt;nuid&gt;.*", each request waits on its own token.
/// The first reply completes the request.
/// </summary>
internal sealed class InboxMux : NatsSubBase
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource<NatsMsg>> _waiting = new();
    private readonly byte[] _prefixBytes;
    private long _next;

    public InboxMux(NatsConnection connection, string prefix) : base(connection, prefix + "*", null)
    {
        Prefix = prefix;
        _prefixBytes = Encoding.UTF8.GetBytes(prefix);
    }

    /// <summary>"&lt;inbox prefix&gt;.&lt;nuid&gt;." ; a reply subject is this plus the token.</summary>
    public string Prefix { get; }

    public (long Token, string ReplyTo, TaskCompletionSource<NatsMsg> Reply) Register()
    {
        var token = Interlocked.Increment(ref _next);
        var tcs = new TaskCompletionSource<NatsMsg>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[token] = tcs;
        return (token, Prefix + token.ToString(System.Globalization.CultureInfo.InvariantCulture), tcs);
    }

    public void Forget(long token) => _waiting.TryRemove(token, out _);

    internal override void Receive(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size)
    {
        if (!subject.StartsWith(_prefixBytes)) return;
        if (!Utf8Parser.TryParse(subject[_prefixBytes.Length..], out long token, out _)) return;
        if (!_waiting.TryRemove(token, out var tcs)) return; // late reply after a timeout
        tcs.TrySetResult(Materialize(subject, replyTo, headers, payload, size));
    }

    public void FailAll(Exception error)
    {
        foreach (var key in _waiting.Keys)
            if (_waiting.TryRemove(key, out var tcs)) tcs.TrySetException(error);
    }

    internal override void Complete(Exception? error) => FailAll(error ?? new NatsConnectionClosedException("connection closed"));
}
