namespace Kraud.Nats.Internal;

/// <summary>One server address from the URL list or from INFO connect_urls.</summary>
internal sealed record NatsUri(string Host, int Port, bool Tls, string? User, string? Password)
{
    public static NatsUri Parse(string url)
    {
        var text = url.Trim();
        if (!text.Contains("://", StringComparison.Ordinal)) text = "nats://" + text;
        var uri = new Uri(text);
        var scheme = uri.Scheme.ToLowerInvariant();
        if (scheme is not ("nats" or "tls")) throw new ArgumentException($"unsupported URL scheme in '{url}' (nats:// or tls://)");
        string? user = null, pass = null;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            pass = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
        }
        var host = uri.Host.Trim('[', ']');
        return new NatsUri(host, uri.Port > 0 ? uri.Port : 4222, scheme == "tls", user, pass);
    }

    public override string ToString() => $"{(Tls ? "tls" : "nats")}://{(Host.Contains(':') ? "[" + Host + "]" : Host)}:{Port}";
}
