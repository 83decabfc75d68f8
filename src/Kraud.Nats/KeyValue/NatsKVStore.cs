using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Kraud.Nats.JetStream;
using Kraud.Nats.JetStream.Models;
using Kraud.Nats.KeyValue.Internal;

namespace Kraud.Nats.KeyValue;

/// <summary>A KV bucket: values are the last message per key subject $KV.&lt;bucket&gt;.&lt;key&gt; in stream KV_&lt;bucket&gt;.</summary>
public sealed class NatsKVStore
{
    private readonly NatsJSContext _js;
    private readonly string _prefix;

    internal NatsKVStore(NatsJSContext js, string bucket, NatsJSStream stream)
    {
        _js = js;
        Bucket = bucket;
        Stream = stream;
        _prefix = $"$KV.{bucket}.";
    }

    /// <summary>Bucket name.</summary>
    public string Bucket { get; }

    /// <summary>The stream underneath (its Info.Config is what the server has).</summary>
    public NatsJSStream Stream { get; }

    internal string StreamName => $"KV_{Bucket}";

    internal string Subject(string key) => _prefix + key;

    /// <summary>Writes a value; returns its revision.</summary>
    public async ValueTask<ulong> PutAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        return (await _js.PublishAsync(Subject(key), value, null, null, cancellationToken).ConfigureAwait(false)).Seq;
    }

    /// <summary>Writes a value serialized with a source-generated type info.</summary>
    public ValueTask<ulong> PutAsync<T>(string key, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        PutAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), cancellationToken);

    /// <summary>
    /// Writes only when the key has no value (never written, or deleted/purged);
    /// otherwise <see cref="NatsKVCreateException"/>.
    /// </summary>
    public async ValueTask<ulong> CreateAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        try
        {
            return await UpdateAsync(key, value, 0, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsKVWrongLastRevisionException e)
        {
            // A delete/purge marker is "no value": retry against the marker's revision (ADR-8).
            var last = await GetLastAsync(key, cancellationToken).ConfigureAwait(false);
            if (last is null || last.Operation == NatsKVOperation.Put) throw new NatsKVCreateException(Bucket, key, e);
            try
            {
                return await UpdateAsync(key, value, last.Revision, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsKVWrongLastRevisionException e2)
            {
                throw new NatsKVCreateException(Bucket, key, e2);
            }
        }
    }

    /// <summary>Writes only when the key's latest revision is <paramref name="revision"/>; otherwise <see cref="NatsKVWrongLastRevisionException"/>.</summary>
    public async ValueTask<ulong> UpdateAsync(string key, ReadOnlyMemory<byte> value, ulong revision, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        try
        {
            var ack = await _js.PublishAsync(Subject(key), value, new NatsJSPubOpts { ExpectedLastSubjectSequence = revision }, null, cancellationToken).ConfigureAwait(false);
            return ack.Seq;
        }
        catch (NatsJSApiException e) when (e.ErrCode == 10071)
        {
            throw new NatsKVWrongLastRevisionException(Bucket, key, revision, e);
        }
    }

    /// <summary>Writes a delete marker (history is kept); with <paramref name="revision"/> only if that is still the latest.</summary>
    public async ValueTask DeleteAsync(string key, ulong? revision = null, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var h = new NatsHeaders { { "KV-Operation", "DEL" } };
        if (revision is { } r) h["Nats-Expected-Last-Subject-Sequence"] = r.ToString(CultureInfo.InvariantCulture);
        try
        {
            await _js.PublishAsync(Subject(key), default, null, h, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.ErrCode == 10071)
        {
            throw new NatsKVWrongLastRevisionException(Bucket, key, revision ?? 0, e);
        }
    }

    /// <summary>Writes a purge marker that also removes the key's older revisions.</summary>
    public async ValueTask PurgeAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var h = new NatsHeaders { { "KV-Operation", "PURGE" }, { "Nats-Rollup", "sub" } };
        await _js.PublishAsync(Subject(key), default, null, h, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The latest value (or the given revision). Throws <see cref="NatsKVKeyNotFoundException"/> when the key
    /// never had one and <see cref="NatsKVKeyDeletedException"/> when its latest revision is a delete/purge.
    /// </summary>
    public async ValueTask<NatsKVEntry> GetEntryAsync(string key, ulong revision = 0, CancellationToken cancellationToken = default)
    {
        var e = revision == 0
            ? await GetLastAsync(key, cancellationToken).ConfigureAwait(false)
            : await GetRevisionAsync(key, revision, cancellationToken).ConfigureAwait(false);
        if (e is null) throw new NatsKVKeyNotFoundException(Bucket, key);
        if (e.Operation != NatsKVOperation.Put) throw new NatsKVKeyDeletedException(Bucket, key, e.Revision);
        return e;
    }

    /// <summary>The latest value, or null when the key has none (never written or deleted).</summary>
    public async ValueTask<NatsKVEntry?> TryGetEntryAsync(string key, CancellationToken cancellationToken = default)
    {
        var e = await GetLastAsync(key, cancellationToken).ConfigureAwait(false);
        return e is { Operation: NatsKVOperation.Put } ? e : null;
    }

    /// <summary>The latest revision including delete/purge markers, or null.</summary>
    internal async ValueTask<NatsKVEntry?> GetLastAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        var m = await _js.GetLastMsgBySubjectAsync(StreamName, Subject(key), cancellationToken).ConfigureAwait(false);
        return m is null ? null : ToEntry(key, m);
    }

    private async ValueTask<NatsKVEntry?> GetRevisionAsync(string key, ulong revision, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        try
        {
            var m = await _js.GetMsgAsync(StreamName, new StreamMsgGetRequest { Seq = revision }, cancellationToken).ConfigureAwait(false);
            return m.Subject == Subject(key) ? ToEntry(key, m) : null;
        }
        catch (NatsJSApiException e) when (e.ErrCode == 10037)
        {
            return null;
        }
    }

    private NatsKVEntry ToEntry(string key, NatsJSStoredMsg m) => new()
    {
        Bucket = Bucket,
        Key = key,
        Value = m.Data,
        Revision = m.Sequence,
        Created = m.Time,
        Operation = OperationOf(m.Headers),
    };

    internal static NatsKVOperation OperationOf(NatsHeaders? h) =>
        h is not null && h.TryGetValue("KV-Operation", out var op)
            ? op switch { "DEL" => NatsKVOperation.Del, "PURGE" => NatsKVOperation.Purge, _ => NatsKVOperation.Put }
            : NatsKVOperation.Put;

    /// <summary>
    /// Watches keys matching <paramref name="key"/> (wildcards * and &gt; allowed): first the current value of each
    /// (the entry with Delta 0 ends them), then every put, delete and purge as it happens. Survives reconnects
    /// and server restarts by recreating its ordered consumer from the last revision seen.
    /// </summary>
    public async IAsyncEnumerable<NatsKVEntry> WatchAsync(string key = ">", NatsKVWatchOpts? opts = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        opts ??= new NatsKVWatchOpts();
        await using var watch = new KVWatch(_js, this, key, opts);
        await watch.StartAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            bool more;
            try { more = await watch.Entries.WaitToReadAsync(cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { yield break; }
            if (!more) yield break;
            while (watch.Entries.TryRead(out var e))
            {
                if (opts.IgnoreDeletes && e.Operation != NatsKVOperation.Put) continue;
                yield return e;
            }
        }
    }

    /// <summary>The current value of every key matching <paramref name="filter"/> (deleted keys left out).</summary>
    public async IAsyncEnumerable<NatsKVEntry> GetEntriesAsync(string filter = ">", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var watch = new KVWatch(_js, this, filter, new NatsKVWatchOpts { StopAfterInitial = true });
        await watch.StartAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var e in watch.Entries.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            if (e.Operation == NatsKVOperation.Put) yield return e;
    }

    /// <summary>The keys that currently have a value.</summary>
    public async IAsyncEnumerable<string> GetKeysAsync(string filter = ">", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var watch = new KVWatch(_js, this, filter, new NatsKVWatchOpts { StopAfterInitial = true, MetaOnly = true });
        await watch.StartAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var e in watch.Entries.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            if (e.Operation == NatsKVOperation.Put) yield return e.Key;
    }

    internal static void ValidateKey(string key, bool allowWildcards = false)
    {
        if (key.Length == 0 || key[0] == '.' || key[^1] == '.') throw new ArgumentException($"invalid key '{key}'");
        foreach (var c in key)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '/' or '_' or '=' or '.') continue;
            if (allowWildcards && c is '*' or '>') continue;
            throw new ArgumentException($"invalid key '{key}' (allowed: A-Z a-z 0-9 - / _ = .)");
        }
    }
}
