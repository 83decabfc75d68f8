using System.Collections;
using System.Text.Json.Nodes;

namespace Kraud.Agent.Config;

/// <summary>
/// KRAUD_HOST, KRAUD_NATS__SERVERS__0, KRAUD_LOG__LEVEL ...: each variable sets one key, its value kept as a
/// string that the binder converts. Unknown paths are errors that name the variable.
/// </summary>
internal static class EnvironmentOverrides
{
    private const string Prefix = "KRAUD_";

    internal static void Apply(JsonObject root, IDictionary environment, Dictionary<string, string> origins)
    {
        var names = new List<string>();
        foreach (DictionaryEntry e in environment)
            if (e.Key is string k && k.StartsWith(Prefix, StringComparison.Ordinal) && k != ConfigLoader.ConfigPathVariable) names.Add(k);
        names.Sort(StringComparer.Ordinal); // array indexes apply in order: __0 before __1
        foreach (string name in names) ApplyOne(root, name, environment[name] as string ?? "", origins);
    }

    private static void ApplyOne(JsonObject root, string variable, string value, Dictionary<string, string> origins)
    {
        string source = "environment " + variable;
        string[] parts = variable[Prefix.Length..].Split("__");
        JsonObject current = root;
        var keys = ConfigSchema.Root;
        string path = "";
        for (int i = 0; i < parts.Length; i++)
        {
            var found = ConfigSchema.Find(keys, parts[i], ignoreCase: true)
                ?? throw new ConfigException(source, Join(path, parts[i].ToLowerInvariant()), "unknown key");
            string key = found.Name;
            path = Join(path, key);
            var shape = found.Shape;
            bool last = i == parts.Length - 1;
            if (shape == ConfigSchema.Shape.Section)
            {
                if (last) throw new ConfigException(source, path, "is a section; set one of its keys, e.g. " + variable + "__" + found.Children![0].Name.ToUpperInvariant());
                if (current[key] is not JsonObject child) current[key] = child = new JsonObject();
                current = child;
                keys = found.Children!;
                continue;
            }
            if (shape == ConfigSchema.Shape.ObjectArray)
            {
                // KRAUD_REGISTRIES__0__PASSWORD: item 0 of the file's list (or a new one, consecutive from 0), key password.
                if (i > parts.Length - 3 || !int.TryParse(parts[i + 1], out int item) || item < 0)
                    throw new ConfigException(source, path, $"is a list of objects; set an item's key as {Prefix}…{parts[i].ToUpperInvariant()}__0__{found.Children![0].Name.ToUpperInvariant()}");
                if (current[key] is not JsonArray items) current[key] = items = new JsonArray();
                if (item > items.Count) throw new ConfigException(source, $"{path}[{item}]", $"set item {items.Count} first (items must be consecutive from 0)");
                if (item == items.Count) items.Add((JsonNode)new JsonObject());
                current = items[item] as JsonObject ?? throw new ConfigException(source, $"{path}[{item}]", "is not an object in the file");
                keys = found.Children!;
                path = $"{path}[{item}]";
                i++;
                continue;
            }
            if (shape == ConfigSchema.Shape.StringArray)
            {
                if (i != parts.Length - 2 || !int.TryParse(parts[i + 1], out int index) || index < 0)
                    throw new ConfigException(source, path, $"is a list; set its items as {variable.Split("__")[0]}__…__{parts[i].ToUpperInvariant()}__0, __1, …");
                if (current[key] is not JsonArray array || !origins.ContainsKey(path))
                {
                    // The first item set from the environment replaces the file's list.
                    array = new JsonArray();
                    current[key] = array;
                }
                if (index > array.Count) throw new ConfigException(source, $"{path}[{index}]", $"set item {array.Count} first (items must be consecutive from 0)");
                if (index == array.Count) array.Add((JsonNode)JsonValue.Create(value));
                else array[index] = value;
                origins[path] = source;
                origins[$"{path}[{index}]"] = source;
                return;
            }
            if (!last) throw new ConfigException(source, path, "is not a section");
            current[key] = value;
            origins[path] = source;
            return;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;
}
