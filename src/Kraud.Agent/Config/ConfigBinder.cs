using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kraud.Agent.Config;

/// <summary>Binds the JSON tree to <see cref="AgentConfig"/> by hand: exact keys, exact types, errors that name the key.</summary>
internal static class ConfigBinder
{
    internal static AgentConfig Bind(JsonObject root, string file, Dictionary<string, string> origins)
    {
        var c = new AgentConfig();
        BindSection(root, ConfigSchema.Root, "", c, new Context(file, origins));
        return c;
    }

    private static void BindSection(JsonObject o, IReadOnlyList<ConfigSchema.Key> keys, string prefix, AgentConfig c, Context ctx)
    {
        foreach (var (name, node) in o)
        {
            string path = prefix + name;
            var key = ConfigSchema.Find(keys, name) ?? throw ctx.Unknown(path);
            if (key.Shape == ConfigSchema.Shape.Section)
            {
                BindSection(ctx.Object(node, path, key), key.Children!, path + ".", c, ctx);
                continue;
            }
            if (key.Shape == ConfigSchema.Shape.ObjectArray)
            {
                if (node is not JsonArray items) throw ctx.Wrong(path, key, "a list of objects", node);
                for (int i = 0; i < items.Count; i++)
                {
                    var item = ctx.Object(items[i], $"{path}[{i}]", key);
                    key.Set!(c, null);
                    BindSection(item, key.Children!, $"{path}[{i}].", c, ctx);
                }
                continue;
            }
            object? value = key.Shape switch
            {
                ConfigSchema.Shape.String => ctx.String(node, path, key),
                ConfigSchema.Shape.NullableString => node is null ? null : ctx.String(node, path, key),
                ConfigSchema.Shape.Integer => ctx.Integer(node, path, key),
                ConfigSchema.Shape.Long => ctx.Long(node, path, key),
                ConfigSchema.Shape.Boolean => ctx.Boolean(node, path, key),
                _ => ctx.StringArray(node, path, key),
            };
            key.Set!(c, value);
        }
    }

    private sealed class Context(string file, Dictionary<string, string> origins)
    {
        private string Source(string path) => origins.TryGetValue(path, out var s) ? s : file;

        public ConfigException Unknown(string path) => new(Source(path), path, "unknown key (see `kraud-agent --help` and README: Configuration)");

        public ConfigException Wrong(string path, ConfigSchema.Key key, string expected, JsonNode? node) =>
            new(Source(path), path, $"expected {expected}, got {(key.Secret ? DescribeType(node) : Redaction.Urls(Describe(node)))}");

        /// <summary>The type only: for secrets (and server URLs, which may carry credentials).</summary>
        private static string DescribeType(JsonNode? node) => node switch
        {
            null => "null",
            JsonObject => "an object",
            JsonArray => "a list",
            JsonValue v => v.GetValueKind() switch
            {
                JsonValueKind.String => "a string",
                JsonValueKind.Number => "a number",
                JsonValueKind.True or JsonValueKind.False => "a boolean",
                _ => "a value",
            },
            _ => "something else",
        };

        public string String(JsonNode? node, string path, ConfigSchema.Key key) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Wrong(path, key, "a string", node);

        public int Integer(JsonNode? node, string path, ConfigSchema.Key key) =>
            WholeNumber(node, path) is long n && n is >= int.MinValue and <= int.MaxValue ? (int)n : throw Wrong(path, key, "an integer", node);

        public long Long(JsonNode? node, string path, ConfigSchema.Key key) =>
            WholeNumber(node, path) ?? throw Wrong(path, key, "an integer", node);

        /// <summary>A JSON number without a fraction (1e3 included), or the string of an environment override; else null.</summary>
        private long? WholeNumber(JsonNode? node, string path)
        {
            if (node is not JsonValue v) return null;
            if (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long l)) return l;
            if (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out decimal d) && d == decimal.Truncate(d) && d >= long.MinValue && d <= long.MaxValue) return (long)d;
            // Environment overrides arrive as strings.
            if (v.GetValueKind() == JsonValueKind.String && origins.ContainsKey(path) && long.TryParse(v.GetValue<string>(), out long e)) return e;
            return null;
        }

        public bool Boolean(JsonNode? node, string path, ConfigSchema.Key key)
        {
            if (node is JsonValue v)
            {
                if (v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
                if (v.GetValueKind() == JsonValueKind.String && origins.ContainsKey(path) && bool.TryParse(v.GetValue<string>(), out bool e)) return e;
            }
            throw Wrong(path, key, "true or false", node);
        }


        public JsonObject Object(JsonNode? node, string path, ConfigSchema.Key key) => node as JsonObject ?? throw Wrong(path, key, "an object", node);

        public List<string> StringArray(JsonNode? node, string path, ConfigSchema.Key key)
        {
            if (node is not JsonArray a) throw Wrong(path, key, "a list of strings", node);
            var list = new List<string>(a.Count);
            for (int i = 0; i < a.Count; i++) list.Add(String(a[i], $"{path}[{i}]", key));
            return list;
        }

        private static string Describe(JsonNode? node) => node switch
        {
            null => "null",
            JsonObject => "an object",
            JsonArray => "a list",
            JsonValue v => v.GetValueKind() switch
            {
                JsonValueKind.String => $"the string \"{Trim(v.GetValue<string>())}\"",
                JsonValueKind.Number => "the number " + v.ToJsonString(),
                JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
                _ => v.ToJsonString(),
            },
            _ => "something else",
        };

        private static string Trim(string s) => s.Length <= 40 ? s : s[..40] + "…";
    }
}
