using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kraud.Agent.Config;

/// <summary>
/// Reads the JSON file, applies KRAUD_&lt;PATH&gt; environment overrides (`__` between levels, matched without
/// regard to case), binds and validates. Every failure is a <see cref="ConfigException"/> naming the file or
/// variable, the key and the problem; unknown keys are errors so a typo never silently falls back to a default.
/// </summary>
public static class ConfigLoader
{
    public const string ConfigPathVariable = "KRAUD_AGENT_CONFIG";

    /// <summary>Loads from <paramref name="path"/> (or KRAUD_AGENT_CONFIG, or the default path).</summary>
    public static AgentConfig Load(string? path, IDictionary environment)
    {
        path ??= environment[ConfigPathVariable] as string;
        if (string.IsNullOrEmpty(path)) path = AgentConfig.DefaultPath;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException(path, "", "file not found (pass --config PATH or set KRAUD_AGENT_CONFIG)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, "", "cannot read: " + e.Message);
        }
        var config = Parse(text, path, environment);
        // A password or token in a file every user can read is no secret: refuse it (after parsing, so a broken
        // file is reported as broken first). Secrets from the environment do not count against the file.
        if (SecretFiles.ReadableByOthers(path) is { } mode && HoldsSecret(text))
            throw new ConfigException(path, "", $"holds a secret (nats.password, nats.token or a URL with credentials) and is readable by others (mode {mode}); chmod o-rwx it");
        return config;
    }

    /// <summary>Binds a JSON text (null: built-in defaults) plus the environment. Used by `dev` and by tests.</summary>
    public static AgentConfig Parse(string? json, string source, IDictionary environment)
    {
        JsonObject root;
        if (json is null) root = new JsonObject();
        else
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (JsonException e)
            {
                throw new ConfigException(source, "", $"invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}");
            }
            root = node as JsonObject ?? throw new ConfigException(source, "", "the file must hold one JSON object");
        }
        var origins = new Dictionary<string, string>();
        EnvironmentOverrides.Apply(root, environment, origins);
        var config = ConfigBinder.Bind(root, source, origins);
        config.Source = source;
        ConfigValidator.Validate(config, source, origins);
        return config;
    }

    /// <summary>True when the file's own text sets nats.password or nats.token, a server URL with credentials, or a registry's password.</summary>
    private static bool HoldsSecret(string text)
    {
        var root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject;
        if (root?["registries"] is JsonArray registries && registries.Any(r => r is JsonObject o && o["password"] is not null)) return true;
        var nats = root?["nats"] as JsonObject;
        if (nats is null) return false;
        if (nats["password"] is not null || nats["token"] is not null) return true;
        return nats["servers"] is JsonArray servers && servers.Any(s => s is JsonValue v && v.TryGetValue(out string? url) && Redaction.Urls(url) != url);
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? message.TrimEnd('.') : message[..i];
    }
}
