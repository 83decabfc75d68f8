namespace Kraud.Oci.Tests.Fixtures;

/// <summary>Puts images into a registry with skopeo, as an operator would.</summary>
public static class Skopeo
{
    /// <summary>Copies <c>oci:layout:tag</c> to <c>registry/repository:tag</c>; extra arguments such as
    /// <c>--format v2s2</c> (Docker schema 2) or <c>--all</c> (every image of an index).</summary>
    public static void Push(OciLayout layout, string tag, string registry, string repository, string? creds = null, params string[] extra)
    {
        var args = new List<string> { "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false" };
        if (creds is not null) { args.Add("--dest-creds"); args.Add(creds); }
        args.AddRange(extra);
        args.Add($"oci:{layout.Dir}:{tag}");
        args.Add($"docker://{registry}/{repository}:{tag}");
        Tool.Run("skopeo", [.. args]);
    }

    /// <summary>The digest the registry has for a tag, as skopeo computes it.</summary>
    public static Digest DigestOf(string registry, string repository, string tag, string? creds = null)
    {
        var args = new List<string> { "--insecure-policy", "inspect", "--tls-verify=false", "--format", "{{.Digest}}" };
        if (creds is not null) { args.Add("--creds"); args.Add(creds); }
        args.Add($"docker://{registry}/{repository}:{tag}");
        return Digest.Parse(Tool.Run("skopeo", [.. args]).Trim());
    }
}
