using System.Text;

namespace Kraud.Zfs.Nfs;

/// <summary>
/// Renders and parses the agent's own exports file. Each export is preceded by a `# kraud-volume <id>`
/// line so the file alone tells the agent at start what it exported, without any other state.
/// </summary>
public static class ExportsFile
{
    public const string Header = "# Written by kraud-agent. Do not edit: the agent rewrites this file from its desired state.";
    private const string Marker = "# kraud-volume ";

    public static string Render(IEnumerable<NfsExport> exports)
    {
        var sb = new StringBuilder();
        sb.Append(Header).Append('\n');
        foreach (var e in exports.OrderBy(e => e.VolumeId, StringComparer.Ordinal))
        {
            if (e.Clients.Count == 0) continue;
            sb.Append(Marker).Append(e.VolumeId).Append('\n');
            sb.Append(e.Path);
            foreach (var c in e.Clients) sb.Append(' ').Append(c.Match).Append('(').Append(Options(c.Options, e.Fsid)).Append(')');
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The client's options plus what every export gets: no_subtree_check (unless subtree_check is asked for) and the fsid.</summary>
    public static string Options(string options, string fsid)
    {
        var opts = options.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (!opts.Contains("subtree_check") && !opts.Contains("no_subtree_check")) opts.Add("no_subtree_check");
        opts.Add("fsid=" + fsid);
        return string.Join(',', opts);
    }

    /// <summary>True for a file this class rendered (it starts with <see cref="Header"/>), and for an empty one.</summary>
    public static bool IsOurs(string text) =>
        string.IsNullOrWhiteSpace(text) || text.Split('\n', 2)[0].TrimEnd('\r') == Header;

    /// <summary>Reads back a file this class rendered; lines it did not write are ignored.</summary>
    public static List<NfsExport> Parse(string text)
    {
        var result = new List<NfsExport>();
        string? volume = null;
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith(Marker, StringComparison.Ordinal)) { volume = line[Marker.Length..].Trim(); continue; }
            if (line.Length == 0 || line.StartsWith('#') || volume is null) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var clients = new List<NfsClient>();
            string fsid = NfsExport.FsidFor(volume);
            foreach (var w in words.Skip(1))
            {
                int open = w.IndexOf('(');
                if (open <= 0 || !w.EndsWith(')')) continue;
                var opts = w[(open + 1)..^1].Split(',').ToList();
                var f = opts.FirstOrDefault(o => o.StartsWith("fsid=", StringComparison.Ordinal));
                if (f is not null) { fsid = f[5..]; opts.Remove(f); }
                opts.Remove("no_subtree_check");
                clients.Add(new NfsClient(w[..open], string.Join(',', opts)));
            }
            result.Add(new NfsExport(volume, words[0], fsid, clients));
            volume = null;
        }
        return result;
    }
}
