namespace Kraud.Zfs.Nfs;

/// <summary>One client line of a volume's export: who (`match`: host, address, CIDR or `*`) and with which options.</summary>
public sealed record NfsClient(string Match, string Options)
{
    /// <summary>Options the agent owns: a spec may not set them.</summary>
    private static readonly string[] Reserved = ["fsid", "mountpoint", "mp", "refer", "replicas"];

    /// <summary>Null when valid, else what is wrong (nothing that could break the exports file's syntax gets through).</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Match)) return "match is empty";
        if (Match.Length > 255) return "match is longer than 255 characters";
        foreach (char c in Match)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or ':' or '/' or '-' or '_' or '*' or '?' or '@' or '[' or ']'))
                return $"match '{Match}' has the character '{c}'";
        if (Match.StartsWith('-')) return $"match '{Match}' starts with '-'";
        if (Options.Length > 1024) return "options are longer than 1024 characters";
        foreach (var opt in Options.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (char c in opt)
                if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '=' or ':' or '.' or '-' or '/'))
                    return $"option '{opt}' has the character '{c}'";
            string key = opt.Split('=')[0];
            if (Reserved.Contains(key)) return $"option '{key}' is set by the agent";
        }
        return null;
    }
}
