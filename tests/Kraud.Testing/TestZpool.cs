using Kraud.Commands;
using Xunit;

namespace Kraud.Testing;

/// <summary>
/// A real pool on a file vdev in /var/tmp (not tmpfs: ZFS refuses O_DIRECT-less tmpfs files on some kernels),
/// created for one test and destroyed after it; for the lane=kernel tests of every project. Outside the kernel
/// lane it fails loudly (no skip) and says how to run it.
/// </summary>
public sealed class TestZpool : IAsyncDisposable
{
    public static readonly ArgvRunner Run = new() { DefaultTimeout = TimeSpan.FromMinutes(5) };

    private TestZpool(string name, string file) { Name = name; File = file; }

    public string Name { get; }
    public string File { get; }

    /// <summary>&lt;pool&gt;/kraud, where the agent keeps volumes (tests of the ZFS library use it as a plain parent).</summary>
    public string Root => Name + "/kraud";

    /// <param name="mountpoint">The pool's root mountpoint; "none" keeps the pool's datasets from mounting anywhere by default.</param>
    public static async Task<TestZpool> CreateAsync(string prefix, long sizeBytes = 512L << 20, string? mountpoint = null)
    {
        await EnsureZfsAsync();
        string name = prefix + Guid.NewGuid().ToString("N")[..6];
        string file = $"/var/tmp/kraud-{name}.img";
        using (var fs = new FileStream(file, FileMode.CreateNew)) fs.SetLength(sizeBytes);
        var pool = new TestZpool(name, file);
        try
        {
            string[] mount = mountpoint is null ? [] : ["-m", mountpoint];
            await Run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", .. mount, name, file]);
            return pool;
        }
        catch
        {
            await pool.DisposeAsync();
            throw;
        }
    }

    public static async Task EnsureZfsAsync()
    {
        if (!(System.IO.File.Exists("/proc/cmdline") && System.IO.File.ReadAllText("/proc/cmdline").Split(' ', '\n').Contains("kraud.lane=1")))
            throw new InvalidOperationException("This test needs the kernel lane (kraud.lane=1 is not on the kernel command line): " +
                "run it with tests/lane/test-in-lane tests/<Project>, or filter it out with --filter \"lane!=kernel\".");
        if (!System.IO.File.Exists("/dev/zfs")) await Run.RunCheckedAsync(["/sbin/modprobe", "zfs"]);
        Assert.True(System.IO.File.Exists("/dev/zfs"), "/dev/zfs is missing after modprobe zfs");
    }

    public static async Task<string> Sh(params string[] argv) => (await Run.RunCheckedAsync(argv)).Stdout;

    public static Task<string> Zfs(params string[] args) => Sh(["/usr/sbin/zfs", .. args]);

    /// <summary>
    /// `zfs get -Hp all` of a dataset, as the text the idempotence check compares. The pool is synced first: a
    /// fresh dataset's space accounting (available) settles a txg later on its own, without anyone writing.
    /// </summary>
    public static async Task<string> GetAll(string dataset)
    {
        await Sh("/usr/sbin/zpool", "sync", Kraud.Zfs.Names.ZfsNames.PoolOf(dataset));
        return await Zfs("get", "-Hp", "-o", "property,value,source", "all", dataset);
    }

    public static bool Exists(string name) => Kraud.Zfs.Native.LibZfsCore.Exists(name);

    public async ValueTask DisposeAsync()
    {
        await Run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", Name]);
        try { System.IO.File.Delete(File); } catch (IOException) { }
    }
}
