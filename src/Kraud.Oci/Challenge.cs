using System.Net.Http.Headers;

namespace Kraud.Oci;

/// <summary>
/// One WWW-Authenticate challenge: <c>Basic realm="…"</c> or <c>Bearer realm="…",service="…",scope="…"</c>
/// (RFC 7235 auth-params: key=token or key="quoted string" with backslash escapes).
/// </summary>
internal sealed record Challenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? this[string key] => Parameters.TryGetValue(key, out string? v) ? v : null;

    /// <summary>The first Bearer challenge, else the first Basic one, else null.</summary>
    public static Challenge? From(HttpHeaderValueCollection<AuthenticationHeaderValue> headers)
    {
        Challenge? basic = null;
        foreach (AuthenticationHeaderValue h in headers)
        {
            if (h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return new Challenge("Bearer", ParseParameters(h.Parameter));
            if (h.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)) basic ??= new Challenge("Basic", ParseParameters(h.Parameter));
        }
        return basic;
    }

    internal static Dictionary<string, string> ParseParameters(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(text)) return result;
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i]))) i++;
            int keyStart = i;
            while (i < text.Length && text[i] != '=' && text[i] != ',') i++;
            string key = text[keyStart..i].Trim();
            if (i >= text.Length || text[i] != '=') { if (key.Length > 0) result[key] = ""; continue; }
            i++; // '='
            string value;
            if (i < text.Length && text[i] == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length) i++;
                    sb.Append(text[i++]);
                }
                i++; // closing quote
                value = sb.ToString();
            }
            else
            {
                int valueStart = i;
                while (i < text.Length && text[i] != ',') i++;
                value = text[valueStart..i].Trim();
            }
            if (key.Length > 0) result[key] = value;
        }
        return result;
    }
}
