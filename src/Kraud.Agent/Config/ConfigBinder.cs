using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kraud.Agent.Config;

/// <summary>Binds the JSON tree to <see cref="AgentConfig"/> by hand: exact keys, exact types, errors that name the key.</summary>
internal static class ConfigBinder
{
    internal static AgentConfig Bind(JsonObject root, string file, Dictionary<string, string> origins)
    {
        var c = new AgentConfig();
        var ctx = new Context(file, origins);
        foreach (var (key, node) in root)
        {
            switch (key)
            {
                case "host": c.Host = ctx.String(node, key); break;
                case "stateDir": c.StateDir = ctx.String(node, key); break;
                case "concurrency": c.Concurrency = ctx.Integer(node, key); break;
                case "shutdownGraceSeconds": c.ShutdownGraceSeconds = ctx.Integer(node, key); break;
                case "replicas": c.Replicas = ctx.Integer(node, key); break;
                case "nats": BindNats(ctx.Object(node, key), c.Nats, ctx); break;
                case "log": BindLog(ctx.Object(node, key), c.Log, ctx); break;
                default: throw ctx.Unknown(key);
            }
        }
        return c;
    }

    private static void BindNats(JsonObject o, NatsConfig n, Context ctx)
    {
        foreach (var (key, node) in o)
        {
            string path = "nats." + key;
            switch (key)
            {
                case "servers": n.Servers = ctx.StringArray(node, path); break;
                case "user": n.User = ctx.NullableString(node, path); break;
                case "password": n.Password = ctx.NullableString(node, path); break;
                case "token": n.Token = ctx.NullableString(node, path); break;
                case "caFile": n.CaFile = ctx.NullableString(node, path); break;
                case "credsFile": n.CredsFile = ctx.NullableString(node, path); break;
                case "nkeyFile": n.NkeyFile = ctx.NullableString(node, path); break;
                case "certFile": n.CertFile = ctx.NullableString(node, path); break;
                case "keyFile": n.KeyFile = ctx.NullableString(node, path); break;
                default: throw ctx.Unknown(path);
            }
        }
    }

    private static void BindLog(JsonObject o, LogConfig l, Context ctx)
    {
        foreach (var (key, node) in o)
        {
            string path = "log." + key;
            switch (key)
            {
                case "target": l.Target = ctx.String(node, path); break;
                case "journalSocket": l.JournalSocket = ctx.String(node, path); break;
                case "level": l.Level = ctx.String(node, path); break;
                default: throw ctx.Unknown(path);
            }
        }
    }

    private sealed class Context(string file, Dictionary<string, string> origins)
    {
        private string Source(string path) => origins.TryGetValue(path, out var s) ? s : file;

        public ConfigException Unknown(string path) => new(Source(path), path, "unknown key (see `kraud-agent --help` and README: Configuration)");

        private ConfigException Wrong(string path, string expected, JsonNode? node) =>
            new(Source(path), path, $"expected {expected}, got {(ConfigSchema.Secrets.Contains(path) ? DescribeType(node) : Redaction.Urls(Describe(node)))}");

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

        public string String(JsonNode? node, string path) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Wrong(path, "a string", node);

        public string? NullableString(JsonNode? node, string path) => node is null ? null : String(node, path);

        public int Integer(JsonNode? node, string path)
        {
            if (node is JsonValue v)
            {
                if (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int i)) return i;
                if (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out decimal d) && d == decimal.Truncate(d) && d >= int.MinValue && d <= int.MaxValue) return (int)d;
                // Environment overrides arrive as strings.
                if (v.GetValueKind() == JsonValueKind.String && origins.ContainsKey(path) && int.TryParse(v.GetValue<string>(), out int e)) return e;
            }
            throw Wrong(path, "an integer", node);
        }

        public JsonObject Object(JsonNode? node, string path) => node as JsonObject ?? throw Wrong(path, "an object", node);

        public List<string> StringArray(JsonNode? node, string path)
        {
            if (node is not JsonArray a) throw Wrong(path, "a list of strings", node);
            var list = new List<string>(a.Count);
            for (int i = 0; i < a.Count; i++) list.Add(String(a[i], $"{path}[{i}]"));
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
