namespace Kraud.Commands.Tests;

public class ExecutablePathTests
{
    [Fact]
    public void FindsAnExecutableOnPathOrInTheSystemDirectories()
    {
        string? sh = ExecutablePath.Find("sh");
        Assert.NotNull(sh);
        Assert.True(Path.IsPathRooted(sh));
        Assert.Equal("sh", Path.GetFileName(sh));
        Assert.NotEqual(UnixFileMode.None, File.GetUnixFileMode(sh) & UnixFileMode.UserExecute);
    }

    [Fact]
    public void MissingProgramIsNull() => Assert.Null(ExecutablePath.Find("kraud-no-such-program-" + Guid.NewGuid().ToString("N")));

    [Fact]
    public void RefusesAPath() => Assert.Throws<ArgumentException>(() => ExecutablePath.Find("../bin/sh"));
}
