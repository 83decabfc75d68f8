namespace Kraud.Agent.Config;

/// <summary>The keys the file may hold, with their JSON shape; the binder and the environment overrides share it.</summary>
internal static class ConfigSchema
{
    internal enum Shape { String, NullableString, Integer, StringArray, Object }

    internal static readonly Dictionary<string, Shape> Root = new(StringComparer.Ordinal)
    {
        ["host"] = Shape.String,
        ["nats"] = Shape.Object,
        ["stateDir"] = Shape.String,
        ["concurrency"] = Shape.Integer,
        ["shutdownGraceSeconds"] = Shape.Integer,
        ["replicas"] = Shape.Integer,
        ["log"] = Shape.Object,
    };

    internal static readonly Dictionary<string, Shape> Nats = new(StringComparer.Ordinal)
    {
        ["servers"] = Shape.StringArray,
        ["user"] = Shape.NullableString,
        ["password"] = Shape.NullableString,
        ["token"] = Shape.NullableString,
        ["caFile"] = Shape.NullableString,
        ["credsFile"] = Shape.NullableString,
        ["nkeyFile"] = Shape.NullableString,
        ["certFile"] = Shape.NullableString,
        ["keyFile"] = Shape.NullableString,
    };

    /// <summary>Keys whose values are secrets: an error about them names the key and the type, never the value.</summary>
    internal static readonly HashSet<string> Secrets = new(StringComparer.Ordinal) { "nats.password", "nats.token" };

    internal static readonly Dictionary<string, Shape> Log = new(StringComparer.Ordinal)
    {
        ["target"] = Shape.String,
        ["journalSocket"] = Shape.String,
        ["level"] = Shape.String,
    };

    internal static Dictionary<string, Shape>? Children(string objectKey) => objectKey switch
    {
        "" => Root,
        "nats" => Nats,
        "log" => Log,
        _ => null,
    };
}
