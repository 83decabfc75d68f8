namespace Kraud.Agent.Config;

/// <summary>A configuration error: names where it came from (file or environment variable), the key and the problem.</summary>
public sealed class ConfigException(string source, string key, string problem)
    : Exception(key.Length == 0 ? $"config {source}: {problem}" : $"config {source}: key '{key}': {problem}")
{
    public string Origin { get; } = source;
    public string Key { get; } = key;
    public string Problem { get; } = problem;
}
