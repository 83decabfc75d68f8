using System.Text.RegularExpressions;

namespace Kraud.Agent.Config;

/// <summary>
/// Keeps secrets out of what the agent prints: a NATS URL may carry a user and password or a token
/// (<c>nats://user:pass@host</c>), and those must never reach a log line, a status, doctor or an error message.
/// </summary>
public static partial class Redaction
{
    [GeneratedRegex(@"\b([a-z][a-z0-9+.-]*://)[^/@\s""']*@", RegexOptions.IgnoreCase)]
    private static partial Regex UserInfo();

    /// <summary>Every URL's user information in <paramref name="text"/> replaced by <c>***</c>.</summary>
    public static string Urls(string text) => text.Contains('@') ? UserInfo().Replace(text, "$1***@") : text;

    /// <summary>
    /// One URL as it may be printed when it names a download (a bali image): scheme, host and path only. The user
    /// information goes as in <see cref="Urls"/>, and the query too, where signed URLs carry their token.
    /// </summary>
    public static string Url(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.GetLeftPart(UriPartial.Path).Replace(u.UserInfo + "@", "", StringComparison.Ordinal) : url;

    /// <summary>The server list as it may be printed.</summary>
    public static string Servers(IEnumerable<string> servers) => Urls(string.Join(",", servers));
}
