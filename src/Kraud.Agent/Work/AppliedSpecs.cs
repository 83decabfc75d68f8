using System.Text.Json;

namespace Kraud.Agent.Work;

/// <summary>
/// The last spec this host applied per resource, under &lt;stateDir&gt;/applied/&lt;kind&gt;/&lt;id&gt;.json. A delete
/// envelope may come without a spec; the reconciler then still knows what to remove (the interface name, the pool).
/// </summary>
public sealed class AppliedSpecs(string stateDir)
{
    private string PathOf(ResourceKey key) => Path.Combine(stateDir, "applied", key.KindToken, key.Id + ".json");

    // What this process last wrote or read per file: an unchanged spec (a new generation with the same spec, a
    // retry) is not written again, and a directory once made is not made again. Each write costs a create, a
    // write and a rename; most reconciles change nothing here.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _known = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _dirs = new();

    public void Save(ResourceKey key, JsonElement spec)
    {
        string path = PathOf(key);
        string text = spec.GetRawText();
        if (_known.TryGetValue(path, out var known) && known == text && File.Exists(path)) return;
        string dir = Path.GetDirectoryName(path)!;
        if (_dirs.TryAdd(dir, 0)) StateDir.CreateDirectory(dir);
        StateDir.WriteFile(path, text);
        _known[path] = text;
    }

    public JsonElement? Load(ResourceKey key)
    {
        string path = PathOf(key);
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    public void Remove(ResourceKey key)
    {
        string path = PathOf(key);
        _known.TryRemove(path, out _);
        File.Delete(path);
    }

    /// <summary>Resources this host (<paramref name="host"/>) applied and has not deleted.</summary>
    public IEnumerable<ResourceKey> List(string host)
    {
        string root = Path.Combine(stateDir, "applied");
        if (!Directory.Exists(root)) yield break;
        foreach (string dir in Directory.EnumerateDirectories(root))
            foreach (string file in Directory.EnumerateFiles(dir, "*.json"))
                yield return new ResourceKey(host, Path.GetFileName(dir), Path.GetFileNameWithoutExtension(file));
    }
}
