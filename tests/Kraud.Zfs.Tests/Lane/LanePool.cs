using Kraud.Commands;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Reconcile;

namespace Kraud.Zfs.Tests.Lane;

/// <summary>All kernel-lane ZFS tests share one collection: they run one after another on the lane's 2 CPUs.</summary>
[CollectionDefinition("zfs-lane")]
public sealed class ZfsLaneCollection;

/// <summary>
/// A real pool on a file vdev in /var/tmp (not tmpfs: ZFS refuses O_DIRECT-less tmpfs files on some kernels),
/// created for one test and destroyed after it. Fails loudly (no skip) when the zfs module is not there.
/// </summary>
public sealed class LanePool : IAsyncDisposable
{
    public static readonly ArgvRunner Run = new() { DefaultTimeout = TimeSpan.FromMinutes(5) };

    private LanePool(string name, string file) { Name = name; File = file; }

    public string Name { get; }
    public string File { get; }
    public string Root => Name + "/kraud";

    public static async Task<LanePool> CreateAsync(string prefix, long sizeBytes = 512L << 20)
    {
        await EnsureZfsAsync();
        string name = prefix + Guid.NewGuid().ToString("N")[..6];
        string file = $"/var/tmp/kraud-{name}.img";
        using (var fs = new FileStream(file, FileMode.CreateNew)) fs.SetLength(sizeBytes);
        await Run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", name, file]);
        return new LanePool(name, file);
    }

    public static async Task EnsureZfsAsync()
    {
        if (!System.IO.File.Exists("/dev/zfs")) await Run.RunCheckedAsync(["/sbin/modprobe", "zfs"]);
        Assert.True(System.IO.File.Exists("/dev/zfs"), "/dev/zfs is missing: these tests run in the kernel lane (tests/lane/test-in-lane)");
    }

    public static async Task<string> Sh(params string[] argv) => (await Run.RunCheckedAsync(argv)).Stdout;

    public static Task<string> Zfs(params string[] args) => Sh(["/usr/sbin/zfs", .. args]);

    /// <summary>`zfs get -Hp all` of a dataset, as the text the idempotence check compares.</summary>
    /// <summary>
    /// `zfs get -Hp all` of a dataset, as the text the idempotence check compares. The pool is synced first: a
    /// fresh dataset's space accounting (available) settles a txg later on its own, without anyone writing.
    /// </summary>
    public static async Task<string> GetAll(string dataset)
    {
        await Sh("/usr/sbin/zpool", "sync", Names.ZfsNames.PoolOf(dataset));
        return await Zfs("get", "-Hp", "-o", "property,value,source", "all", dataset);
    }

    public static bool Exists(string name) => Native.LibZfsCore.Exists(name);

    public static (ZfsApi Zfs, NfsExports Exports, VolumeReconciler Volumes, SnapshotReconciler Snapshots) Reconcilers(string exportsFile)
    {
        var zfs = new ZfsApi(new ZfsCli(Run));
        var exports = new NfsExports(exportsFile, runner: Run);
        var volumes = new VolumeReconciler(zfs, exports);
        return (zfs, exports, volumes, new SnapshotReconciler(zfs, volumes));
    }

    public async ValueTask DisposeAsync()
    {
        await Run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", Name]);
        try { System.IO.File.Delete(File); } catch (IOException) { }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
}
