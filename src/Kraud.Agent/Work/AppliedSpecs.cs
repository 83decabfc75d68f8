using System.Text.Json;

namespace Kraud.Agent.Work;

/// <summary>
/// The last spec this host applied per resource, under &lt;stateDir&gt;/applied/&lt;kind&gt;/&lt;id&gt;.json. A delete
/// envelope may come without a spec; the reconciler then still knows what to remove (the interface name, the pool).
/// </summary>
public sealed class AppliedSpecs(string stateDir)
{
    private string PathOf(ResourceKey key) => Path.Combine(stateDir, "applied", key.KindToken, key.Id + ".json");

    public void Save(ResourceKey key, JsonElement spec)
    {
        string path = PathOf(key);
        StateDir.CreateDirectory(Path.GetDirectoryName(path)!);
        StateDir.WriteFile(path, spec.GetRawText());
    }

    public JsonElement? Load(ResourceKey key)
    {
        string path = PathOf(key);
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    public void Remove(ResourceKey key) => File.Delete(PathOf(key));

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
