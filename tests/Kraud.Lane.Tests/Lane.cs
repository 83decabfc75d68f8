namespace Kraud.Lane.Tests;

/// <summary>Boots the kernel lane through tests/lane/run, the same script developers and CI use.</summary>
public static class Lane
{
    /// <summary>The lane's own limit for a boot in these tests; the process limit sits above it so the
    /// script's timeout handling, not the test's, is what ends a hung guest.</summary>
    public static readonly TimeSpan BootLimit = TimeSpan.FromSeconds(300);

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string RunScript => Path.Combine(RepoRoot, "tests", "lane", "run");

    public static Task<ProcessResult> RunAsync(params string[] args) => RunAsync(args, BootLimit);

    public static Task<ProcessResult> RunAsync(IReadOnlyList<string> args, TimeSpan limit)
    {
        var argv = new List<string> { RunScript };
        if (!args.Contains("--timeout")) argv.AddRange(["--timeout", ((int)limit.TotalSeconds).ToString()]);
        argv.AddRange(args);
        return ProcessRun.RunAsync(argv, limit + TimeSpan.FromSeconds(60), RepoRoot);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "lane", "run"))) return dir.FullName;
        throw new InvalidOperationException($"no tests/lane/run above {AppContext.BaseDirectory}");
    }
}
