using System.Text;
using System.Text.Json;

namespace Kraud.Lane.Tests.Package;

/// <summary>
/// One systemd boot of the lane that installs the .deb and exercises its units (Package/in-lane.sh), shared by
/// every test in <see cref="PackageLaneTests"/>: built from artifacts/bin (published first if missing), run
/// once, and read back from the files the script left in <see cref="OutDir"/> (kept after the run for
/// whoever looks into a failure).
/// </summary>
public sealed class PackageLaneRun : IAsyncLifetime
{
    // systemd's boot, apt, the agent's start and stop under TCG on two shared cores: minutes, not seconds.
    private static readonly TimeSpan LaneLimit = TimeSpan.FromSeconds(1200);
    private static readonly TimeSpan PublishLimit = TimeSpan.FromMinutes(30);

    public string OutDir { get; } = Path.Combine(Lane.RepoRoot, "TestResults", "package-lane");

    public string DebPath { get; private set; } = "";

    public ProcessResult Result { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DebPath = await BuildDebAsync();
        if (Directory.Exists(OutDir)) Directory.Delete(OutDir, recursive: true);
        Directory.CreateDirectory(OutDir);
        var script = Path.Combine(Lane.RepoRoot, "tests", "Kraud.Lane.Tests", "Package", "in-lane.sh");
        Result = await Lane.RunAsync(["--systemd", "--out", OutDir, "--", script, DebPath], LaneLimit);
        File.WriteAllText(Path.Combine(OutDir, "lane-console.txt"), Result.ToString());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A file the script wrote, trimmed; "(missing)" when the step never got there.</summary>
    public string Text(string name)
    {
        var path = Path.Combine(OutDir, name);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : "(missing)";
    }

    /// <summary>A `systemctl show` file as properties.</summary>
    public IReadOnlyDictionary<string, string> Props(string name) =>
        Text(name).Split('\n')
            .Select(line => line.Split('=', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1]);

    /// <summary>The journal entries of a `journalctl -o json` file, each as field → values (a field can repeat).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string[]>> Journal(string name)
    {
        var entries = new List<IReadOnlyDictionary<string, string[]>>();
        foreach (var line in Text(name).Split('\n'))
        {
            if (!line.StartsWith('{')) continue;
            using var doc = JsonDocument.Parse(line);
            var entry = new Dictionary<string, string[]>();
            foreach (var p in doc.RootElement.EnumerateObject())
                entry[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => [p.Value.GetString()!],
                    JsonValueKind.Array when p.Value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String) =>
                        p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray(),
                    _ => [p.Value.GetRawText()], // binary fields come as byte arrays
                };
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>What a failed assertion shows: the named files and where the rest is.</summary>
    public string Evidence(params string[] names)
    {
        var sb = new StringBuilder($"lane exit {Result.ExitCode} after {Result.Elapsed.TotalSeconds:0} s; all files in {OutDir}\n");
        foreach (var n in names) sb.Append("--- ").Append(n).Append('\n').Append(Text(n)).Append('\n');
        return sb.ToString();
    }

    private static async Task<string> BuildDebAsync()
    {
        var bin = Path.Combine(Lane.RepoRoot, "artifacts", "bin");
        if (!File.Exists(Path.Combine(bin, "kraud-agent")) || !File.Exists(Path.Combine(bin, "kraud-vmm")))
        {
            var publish = await ProcessRun.RunAsync([Path.Combine(Lane.RepoRoot, "scripts", "publish")], PublishLimit, Lane.RepoRoot);
            Assert.True(publish.ExitCode == 0, "scripts/publish failed: " + publish);
        }
        var build = await ProcessRun.RunAsync([Path.Combine(Lane.RepoRoot, "packaging", "debian", "build-deb")],
            TimeSpan.FromMinutes(3), Lane.RepoRoot);
        Assert.True(build.ExitCode == 0, "build-deb failed: " + build);
        var deb = build.Stdout.Trim().Split('\n')[^1];
        Assert.True(File.Exists(deb), $"build-deb did not print a .deb it wrote: {build}");
        return deb;
    }
}
