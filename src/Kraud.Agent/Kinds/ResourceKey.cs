using System.Text.RegularExpressions;

namespace Kraud.Agent.Kinds;

/// <summary>
/// One resource of one host: where its desired state, its work token and its status live
/// (contract sections 1 and 4). <see cref="KindToken"/> is the subject's lower-case kind.
/// </summary>
public sealed partial record ResourceKey(string Host, string KindToken, string Id)
{
    public const string DesiredPrefix = "kraud.desired.";
    public const string WorkPrefix = "kraud.work.";

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    public static partial Regex IdRule();

    public string DesiredSubject => $"{DesiredPrefix}{Host}.{KindToken}.{Id}";
    public string WorkSubject => $"{WorkPrefix}{Host}.{KindToken}.{Id}";
    public string StatusKey => StatusKeyOf(Host, KindToken, Id);

    /// <summary>
    /// host.kind.id: the status key (contract section 4), here and only here; with "*" for a part, or ">" for all
    /// kinds and ids, a filter over the status bucket (`kraud-agent get`).
    /// </summary>
    public static string StatusKeyOf(string host, string kindToken, string id) => $"{host}.{kindToken}.{id}";

    [GeneratedRegex(@"^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$")]
    private static partial Regex KvKey();

    /// <summary>Whether a KV key can carry <see cref="StatusKey"/> (ADR-8's key rule); a subject token can hold far more.</summary>
    public bool StatusKeyIsValid => KvKey().IsMatch(StatusKey);

    /// <summary>The canonical kind ("Volume"), or the token itself when no reconciler kind matches.</summary>
    public string Kind => ResourceKinds.FromSubjectToken(KindToken) ?? KindToken;

    /// <summary>Parses kraud.desired.&lt;host&gt;.&lt;kind&gt;.&lt;id&gt; or kraud.work.…; null when the subject has another shape.</summary>
    public static ResourceKey? FromSubject(string subject)
    {
        string rest;
        if (subject.StartsWith(DesiredPrefix, StringComparison.Ordinal)) rest = subject[DesiredPrefix.Length..];
        else if (subject.StartsWith(WorkPrefix, StringComparison.Ordinal)) rest = subject[WorkPrefix.Length..];
        else return null;
        var parts = rest.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0)) return null;
        return new ResourceKey(parts[0], parts[1], parts[2]);
    }

    public override string ToString() => $"{Kind}/{Id}";
}
