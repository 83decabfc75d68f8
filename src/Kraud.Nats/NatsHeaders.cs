using System.Collections;
using System.Text;

namespace Kraud.Nats;

/// <summary>
/// Message headers: a case-sensitive multimap in wire order, plus the status line of control messages
/// (e.g. 503 no responders, 408/409 pull ends, 100 idle heartbeat).
/// </summary>
public sealed class NatsHeaders : IEnumerable<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> _items = new(4);

    /// <summary>Status code from the first line (0 when none).</summary>
    public int Code { get; internal set; }

    /// <summary>Status description from the first line (empty when none).</summary>
    public string MessageText { get; internal set; } = "";

    /// <summary>Number of header lines.</summary>
    public int Count => _items.Count;

    /// <summary>Adds a value (keys may repeat).</summary>
    public void Add(string key, string value)
    {
        Validate(key, value);
        _items.Add(new(key, value));
    }

    /// <summary>Gets the first value of a key, or sets it (replacing all values). Null when absent.</summary>
    public string? this[string key]
    {
        get => TryGetValue(key, out var v) ? v : null;
        set
        {
            _items.RemoveAll(kv => kv.Key == key);
            if (value is not null) Add(key, value);
        }
    }

    /// <summary>First value of a key (exact, case-sensitive match as the server does).</summary>
    public bool TryGetValue(string key, out string value)
    {
        foreach (var kv in _items)
        {
            if (kv.Key == key) { value = kv.Value; return true; }
        }
        value = "";
        return false;
    }

    /// <summary>All values of a key in wire order.</summary>
    public IEnumerable<string> GetAll(string key)
    {
        foreach (var kv in _items)
            if (kv.Key == key) yield return kv.Value;
    }

    /// <summary>True when a key is present.</summary>
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Bytes of the header block on the wire, from NATS/1.0 to the blank line.</summary>
    internal int WireLength
    {
        get
        {
            var n = 10 + 2; // "NATS/1.0\r\n" + final "\r\n"
            foreach (var kv in _items)
                n += Encoding.UTF8.GetByteCount(kv.Key) + 2 + Encoding.UTF8.GetByteCount(kv.Value) + 2;
            return n;
        }
    }

    /// <summary>Writes the header block; <paramref name="dest"/> must be <see cref="WireLength"/> long.</summary>
    internal void WriteTo(Span<byte> dest)
    {
        "NATS/1.0\r\n"u8.CopyTo(dest);
        var p = 10;
        foreach (var kv in _items)
        {
            p += Encoding.UTF8.GetBytes(kv.Key, dest[p..]);
            dest[p++] = (byte)':';
            dest[p++] = (byte)' ';
            p += Encoding.UTF8.GetBytes(kv.Value, dest[p..]);
            dest[p++] = (byte)'\r';
            dest[p++] = (byte)'\n';
        }
        dest[p++] = (byte)'\r';
        dest[p] = (byte)'\n';
    }

    internal void AddParsed(string key, string value) => _items.Add(new(key, value));

    private static void Validate(string key, string value)
    {
        if (key.Length == 0) throw new ArgumentException("header key is empty");
        foreach (var c in key)
            if (c <= ' ' || c == ':' || c > '~') throw new ArgumentException($"invalid header key '{key}'");
        foreach (var c in value)
            if (c == '\r' || c == '\n') throw new ArgumentException($"header '{key}' value contains a line break");
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Code != 0) sb.Append(Code).Append(' ').Append(MessageText).Append("; ");
        foreach (var kv in _items) sb.Append(kv.Key).Append(": ").Append(kv.Value).Append("; ");
        return sb.ToString();
    }
}
