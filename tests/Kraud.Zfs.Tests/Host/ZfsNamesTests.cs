using Kraud.Zfs.Names;

namespace Kraud.Zfs.Tests.Host;

public class ZfsNamesTests
{
    [Theory]
    [InlineData("vol-7f3a")]
    [InlineData("a")]
    [InlineData("A1_b.c:d-e")]
    public void AcceptsGoodComponents(string name) => Assert.Equal(name, ZfsNames.CheckComponent("id", name));

    [Theory]
    [InlineData("a@b", "'@'")]
    [InlineData("a/b", "'/'")]
    [InlineData("", "empty")]
    [InlineData("-rf", "start with a letter or digit")]
    [InlineData("a b", "' '")]
    [InlineData("a;b", "';'")]
    [InlineData("a#b", "'#'")]
    [InlineData("a%b", "'%'")]
    [InlineData("..", "reserved")]
    [InlineData("a\nb", "\\u000a")]
    public void RejectsBadComponentsNamingTheRule(string name, string expected)
    {
        var e = Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckComponent("id", name));
        Assert.Contains(expected, e.Message);
        Assert.Equal("id", e.Field);
    }

    [Fact]
    public void RejectsOverlongNames()
    {
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckComponent("id", new string('a', ZfsNames.MaxComponentLength + 1)));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckDataset("tank/" + string.Join('/', Enumerable.Repeat(new string('b', 100), 3))));
    }

    [Fact]
    public void ChecksFullNames()
    {
        Assert.Equal("tank/kraud/v1", ZfsNames.CheckDataset("tank/kraud/v1"));
        Assert.Equal("tank/kraud/v1@auto-1h-20261121T2000Z", ZfsNames.CheckSnapshot("tank/kraud/v1@auto-1h-20261121T2000Z"));
        Assert.Equal("tank/v#m", ZfsNames.CheckBookmark("tank/v#m"));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckDataset("tank/kraud/v1@x"));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckDataset("tank//v"));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckDataset("1tank/v"));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckSnapshot("tank/v"));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckSnapshot("tank/v@a@b"));
        Assert.Throws<InvalidZfsNameException>(() => ZfsNames.CheckPool("pool", "mirror"));
        Assert.Equal("tank", ZfsNames.PoolOf("tank/a/b@c"));
        Assert.Equal("tank/a/b", ZfsNames.DatasetOf("tank/a/b@c"));
    }
}
