using System.Reflection;

namespace Kraud.Agent;

public static class AgentVersion
{
    /// <summary>The informational version without the source-link commit suffix.</summary>
    public static string Value { get; } = Read();

    private static string Read()
    {
        string? v = typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(v)) return "0.0.0";
        int plus = v.IndexOf('+');
        return plus < 0 ? v : v[..plus];
    }

    public static string Commit
    {
        get
        {
            string? v = typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            int plus = v?.IndexOf('+') ?? -1;
            return plus < 0 ? "unknown" : v![(plus + 1)..];
        }
    }
}
