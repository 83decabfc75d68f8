namespace Kraud.Nats.Internal;

/// <summary>The servers to try: the configured ones plus those the cluster announces, in connect order.</summary>
internal sealed class ServerPool
{
    private readonly List<NatsUri> _servers = [];
    private readonly bool _noRandomize;
    private readonly object _lock = new();
    private NatsUri? _lameDuck;

    public ServerPool(string urls, bool noRandomize)
    {
        _noRandomize = noRandomize;
        foreach (var u in urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            _servers.Add(NatsUri.Parse(u));
        if (_servers.Count == 0) throw new ArgumentException("no server URL given");
    }

    public int Count { get { lock (_lock) return _servers.Count; } }

    /// <summary>Adds servers from INFO connect_urls (host:port), keeping the scheme and credentials of the first configured server.</summary>
    public void Merge(string[]? connectUrls)
    {
        if (connectUrls is null) return;
        lock (_lock)
        {
            var template = _servers[0];
            foreach (var cu in connectUrls)
            {
                NatsUri parsed;
                try { parsed = NatsUri.Parse(cu); }
                catch (UriFormatException) { continue; }
                var u = template with { Host = parsed.Host, Port = parsed.Port };
                if (!_servers.Any(s => s.Host == u.Host && s.Port == u.Port)) _servers.Add(u);
            }
        }
    }

    public void MarkLameDuck(NatsUri uri) { lock (_lock) _lameDuck = uri; }

    /// <summary>The order for the next round: shuffled unless told not to; the server just lost and a lame duck go last.</summary>
    public List<NatsUri> ConnectOrder(NatsUri? lost)
    {
        lock (_lock)
        {
            var list = new List<NatsUri>(_servers);
            if (!_noRandomize) Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
            foreach (var last in new[] { lost, _lameDuck })
            {
                if (last is null || !list.Remove(last)) continue;
                list.Add(last);
            }
            return list;
        }
    }
}
