using Kraud.Commands;

namespace Kraud.Agent.Tests.Storage;

/// <summary>
/// A throw-away 256 MiB pool on a file, for the agent's lane=kernel tests (a real zfs module; the test fails with
/// a clear message outside the kernel lane). Disposing destroys the pool and its file.
/// </summary>
internal sealed class LaneZpool : IAsyncDisposable
{
    public static readonly ArgvRunner Run = new() { DefaultTimeout = TimeSpan.FromMinutes(5) };

    private readonly string _vdev;

    private LaneZpool(string name, string vdev)
    {
        Name = name;
        _vdev = vdev;
    }

    public string Name { get; }

    public static async Task<LaneZpool> CreateAsync(string prefix)
    {
        if (!(File.Exists("/proc/cmdline") && File.ReadAllText("/proc/cmdline").Split(' ', '\n').Contains("kraud.lane=1")))
            throw new InvalidOperationException("This test needs the kernel lane (kraud.lane=1 is not on the kernel command line): " +
                "run it with tests/lane/test-in-lane tests/Kraud.Agent.Tests, or filter it out with --filter \"lane!=kernel\".");
        if (!File.Exists("/dev/zfs")) await Run.RunCheckedAsync(["/sbin/modprobe", "zfs"]);
        string name = prefix + Guid.NewGuid().ToString("N")[..6];
        string vdev = $"/var/tmp/kraud-{name}.img";
        using (var fs = new FileStream(vdev, FileMode.CreateNew)) fs.SetLength(256L << 20);
        var pool = new LaneZpool(name, vdev);
        try
        {
            await Run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", "-m", "none", name, vdev]);
            return pool;
        }
        catch
        {
            await pool.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", Name]);
        File.Delete(_vdev);
    }
}
