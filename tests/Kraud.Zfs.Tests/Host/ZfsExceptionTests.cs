namespace Kraud.Zfs.Tests.Host;

public class ZfsExceptionTests
{
    [Theory]
    [InlineData("cannot open 'nopool/x': no such pool", ZfsProblem.PoolMissing)]
    [InlineData("cannot open 'tank/x': dataset does not exist", ZfsProblem.NotFound)]
    [InlineData("cannot create 'tank/x': dataset already exists", ZfsProblem.Exists)]
    [InlineData("cannot create 'tank/x': out of space", ZfsProblem.NoSpace)]
    [InlineData("cannot destroy 'tank/x': dataset is busy", ZfsProblem.Busy)]
    [InlineData("cannot set property for 'tank/x': 'compression' must be one of 'on | off'", ZfsProblem.InvalidArgument)]
    [InlineData("something else entirely", ZfsProblem.Other)]
    public void StderrMapsToAProblem(string stderr, ZfsProblem expected)
    {
        var e = ZfsException.FromStderr("op", "tank/x", stderr);
        Assert.Equal(expected, e.Problem);
        Assert.StartsWith("op tank/x: ", e.Message);
        Assert.Contains(stderr, e.Message);
    }

    [Theory]
    [InlineData(2, ZfsProblem.NotFound, "does not exist")]
    [InlineData(17, ZfsProblem.Exists, "already exists")]
    [InlineData(28, ZfsProblem.NoSpace, "out of space")]
    [InlineData(16, ZfsProblem.Busy, "is busy")]
    [InlineData(1030, ZfsProblem.Other, "ZFS error 1030")]
    public void ErrnoMapsToAProblemNamingTheDataset(int errno, ZfsProblem expected, string words)
    {
        var e = ZfsException.FromErrno("create", "tank/kraud/v1", errno);
        Assert.Equal(expected, e.Problem);
        Assert.Equal(errno, e.Errno);
        Assert.Contains("create tank/kraud/v1", e.Message);
        Assert.Contains(words, e.Message);
    }
}
