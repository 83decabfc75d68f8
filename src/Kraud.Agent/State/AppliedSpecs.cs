using System.Text;
using System.Text.Json;
using Kraud.Agent.Kinds;

namespace Kraud.Agent.State;

/// <summary>
/// The last spec this host applied per resource, so a delete envelope without a spec still knows what to remove
/// (the interface name, the pool) and the orphan report knows what the host runs. One append-only journal per kind,
/// &lt;stateDir&gt;/applied/&lt;kind&gt;.journal, a line per change: <c>id TAB spec-as-one-line</c>, or <c>id TAB -</c>
/// for a delete; the last line of an id wins. Rewritten whole (temp file, rename) when it holds more than twice the
/// lines it needs. Why not a file per resource: creating and renaming one per reconcile cost three quarters of the
/// agent's throughput on ext4 without a journal (bench/engine, "File system"); an append is one write(2). Not
/// flushed to disk: a record lost with the host's power is written again at the resource's next reconcile.
/// Records of agents before the journal (applied/&lt;kind&gt;/&lt;id&gt;.json) are taken in and removed at first use.
/// </summary>
public sealed class AppliedSpecs(string stateDir)
{
    private const string Deleted = "-";
    private readonly object _gate = new();
    private readonly Dictionary<string, Journal> _journals = new(StringComparer.Ordinal);

    private string Root => Path.Combine(stateDir, "applied");

    public void Save(ResourceKey key, JsonElement spec)
    {
        string text = OneLine(spec);
        lock (_gate) JournalOf(key.KindToken).Set(key.Id, text);
    }

    /// <summary>A spec as one line of the journal, whatever the layout it came in.</summary>
    private static string OneLine(JsonElement spec)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) spec.WriteTo(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public JsonElement? Load(ResourceKey key)
    {
        string? text;
        lock (_gate) text = JournalOf(key.KindToken, reread: true).Get(key.Id);
        if (text is null) return null;
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public void Remove(ResourceKey key)
    {
        lock (_gate) JournalOf(key.KindToken).Set(key.Id, null);
    }

    /// <summary>Resources this host (<paramref name="host"/>) applied and has not deleted, as on disk now.</summary>
    public IEnumerable<ResourceKey> List(string host)
    {
        if (!Directory.Exists(Root)) return [];
        var kinds = Directory.EnumerateFiles(Root, "*.journal").Select(f => Path.GetFileNameWithoutExtension(f))
            .Concat(Directory.EnumerateDirectories(Root).Select(Path.GetFileName)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var keys = new List<ResourceKey>();
        lock (_gate)
            foreach (string kind in kinds)
                keys.AddRange(JournalOf(kind, reread: true).Ids.Select(id => new ResourceKey(host, kind, id)));
        return keys;
    }

    /// <summary>
    /// The journal of a kind. Another instance (the orphan report's, the start-up key lookup's) may have written since:
    /// <paramref name="reread"/> reads it again from disk unless this instance is the one writing it.
    /// </summary>
    private Journal JournalOf(string kind, bool reread = false)
    {
        if (!_journals.TryGetValue(kind, out var journal) || (reread && !journal.Written))
            _journals[kind] = journal = Journal.Open(Root, kind);
        return journal;
    }

    private sealed class Journal
    {
        private readonly string _path;
        private readonly Dictionary<string, string> _live = new(StringComparer.Ordinal);
        private int _lines;

        private Journal(string path) => _path = path;

        public bool Written { get; private set; }

        public IEnumerable<string> Ids => _live.Keys.Order(StringComparer.Ordinal).ToList();

        public string? Get(string id) => _live.GetValueOrDefault(id);

        public static Journal Open(string root, string kind)
        {
            var journal = new Journal(Path.Combine(root, kind + ".journal"));
            if (File.Exists(journal._path))
                foreach (string line in File.ReadLines(journal._path))
                {
                    int tab = line.IndexOf('\t');
                    if (tab <= 0) continue; // a line cut by a crash
                    string id = line[..tab], text = line[(tab + 1)..];
                    journal._lines++;
                    if (text == Deleted) journal._live.Remove(id);
                    else journal._live[id] = text;
                }
            journal.TakeInLegacy(Path.Combine(root, kind));
            return journal;
        }

        /// <summary>Records of earlier agents, a file per resource: into the journal, then removed.</summary>
        private void TakeInLegacy(string dir)
        {
            if (!Directory.Exists(dir)) return;
            foreach (string file in Directory.EnumerateFiles(dir, "*.json"))
            {
                string id = Path.GetFileNameWithoutExtension(file);
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(file));
                    if (!_live.ContainsKey(id)) Set(id, OneLine(doc.RootElement));
                }
                catch (JsonException)
                {
                    continue; // unreadable: left where it is for the operator
                }
                File.Delete(file);
            }
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }

        public void Set(string id, string? text)
        {
            if (_live.TryGetValue(id, out var known) ? known == text : text is null) return; // unchanged: nothing to write
            if (text is null) _live.Remove(id);
            else _live[id] = text;
            Written = true;
            if (_lines + 1 > 2 * _live.Count + 64) Rewrite();
            else Append($"{id}\t{text ?? Deleted}\n");
        }

        private void Append(string line)
        {
            StateDir.CreateDirectory(Path.GetDirectoryName(_path)!);
            using var fs = new FileStream(_path, new FileStreamOptions
            {
                Mode = FileMode.Append, Access = FileAccess.Write, BufferSize = 0, UnixCreateMode = StateDir.FileMode,
            });
            fs.Write(Encoding.UTF8.GetBytes(line));
            _lines++;
        }

        private void Rewrite()
        {
            StateDir.CreateDirectory(Path.GetDirectoryName(_path)!);
            var sb = new StringBuilder();
            foreach (var (id, text) in _live.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.Append(id).Append('\t').Append(text).Append('\n');
            StateDir.WriteFile(_path, sb.ToString());
            _lines = _live.Count;
        }
    }
}
