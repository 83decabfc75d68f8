using System.Text.Json;

namespace Kraud.Agent.Tests.State;

/// <summary>The applied-spec journal: what one instance writes another reads, deletes stick, it stays small, old records are taken in.</summary>
public sealed class AppliedSpecsTests : IDisposable
{
    private readonly TempDir _dir = new();

    private static JsonElement Spec(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static ResourceKey Key(string kind, string id) => new("h1", kind, id);

    [Fact]
    public void What_one_instance_saves_or_removes_another_lists_and_loads()
    {
        var writer = new AppliedSpecs(_dir.Path);
        writer.Save(Key("vpc", "a"), Spec("{ \"interface\": \"wg0\",\n  \"addresses\": [\"fd00::1/64\"] }"));
        writer.Save(Key("vpc", "b"), Spec("""{"interface":"wg1"}"""));
        writer.Save(Key("probe", "p"), Spec("{}"));
        writer.Remove(Key("vpc", "b"));

        var reader = new AppliedSpecs(_dir.Path);
        Assert.Equal(["probe/p", "vpc/a"], reader.List("h1").Select(k => $"{k.KindToken}/{k.Id}").Order(StringComparer.Ordinal));
        Assert.Equal("wg0", reader.Load(Key("vpc", "a"))!.Value.GetProperty("interface").GetString());
        Assert.Null(reader.Load(Key("vpc", "b")));
        // A spec laid out on several lines is one line of the journal.
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_dir.Path, "applied", "vpc.journal")).Length); // a, b, b removed

        writer.Save(Key("vpc", "b"), Spec("""{"interface":"wg2"}"""));
        Assert.Equal("wg2", reader.Load(Key("vpc", "b"))!.Value.GetProperty("interface").GetString()); // read again from disk
    }

    [Fact]
    public void An_unchanged_spec_writes_nothing_and_the_journal_is_compacted()
    {
        var applied = new AppliedSpecs(_dir.Path);
        string journal = Path.Combine(_dir.Path, "applied", "probe.journal");
        applied.Save(Key("probe", "x"), Spec("""{"holdMs":1}"""));
        long size = new FileInfo(journal).Length;
        applied.Save(Key("probe", "x"), Spec("""{ "holdMs" : 1 }"""));
        Assert.Equal(size, new FileInfo(journal).Length);

        for (int i = 0; i < 1000; i++) applied.Save(Key("probe", "x"), Spec($$"""{"holdMs":{{i}}}"""));
        int lines = File.ReadAllLines(journal).Length;
        Assert.True(lines <= 2 * 1 + 64, $"{lines} lines for one resource");
        Assert.Equal(999, new AppliedSpecs(_dir.Path).Load(Key("probe", "x"))!.Value.GetProperty("holdMs").GetInt32());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(journal));
    }

    [Fact]
    public void Records_of_an_earlier_agent_are_taken_in_and_removed()
    {
        string legacy = Path.Combine(_dir.Path, "applied", "vpc");
        Directory.CreateDirectory(legacy);
        File.WriteAllText(Path.Combine(legacy, "old.json"), """{"interface":"wg9"}""");

        var applied = new AppliedSpecs(_dir.Path);
        Assert.Equal(["old"], applied.List("h1").Select(k => k.Id));
        Assert.Equal("wg9", applied.Load(Key("vpc", "old"))!.Value.GetProperty("interface").GetString());
        Assert.False(Directory.Exists(legacy));
        Assert.Contains(File.ReadAllLines(Path.Combine(_dir.Path, "applied", "vpc.journal")), l => l == "old\t{\"interface\":\"wg9\"}");
    }

    public void Dispose() => _dir.Dispose();
}
