namespace Kraud.Testing;

/// <summary>Finds the repository root and the AOT binary the tests run.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kraud.Agent.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find Kraud.Agent.sln above " + AppContext.BaseDirectory);
    }
}
