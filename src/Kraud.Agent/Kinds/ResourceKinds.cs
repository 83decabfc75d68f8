namespace Kraud.Agent.Kinds;

/// <summary>The kinds of contract section 7 plus our diagnostic Probe, by their subject token (lower case).</summary>
public static class ResourceKinds
{
    public const string Vpc = "Vpc", Overlay = "Overlay", Volume = "Volume", Snapshot = "Snapshot", Pod = "Pod", Probe = "Probe";

    private static readonly Dictionary<string, string> s_bySubjectToken = new(StringComparer.Ordinal)
    {
        ["vpc"] = Vpc, ["overlay"] = Overlay, ["volume"] = Volume, ["snapshot"] = Snapshot, ["pod"] = Pod, ["probe"] = Probe,
    };

    /// <summary>"volume" → "Volume"; null for a token no version of the contract knows.</summary>
    public static string? FromSubjectToken(string token) => s_bySubjectToken.GetValueOrDefault(token);

    public static string SubjectToken(string kind) => kind.ToLowerInvariant();
}
