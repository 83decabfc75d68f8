using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Send;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>
/// Two hosts for the replication lane tests: h1 (namespace A, fd00:99::1, pool A) owns the volumes, h2 (namespace B,
/// fd00:99::2, pool B) keeps replicas and listens on [fd00:99::2]:7370; each side has its own reconciler, registry
/// and exports file, as two daemons would. Sockets are made in their host's namespace; ZFS is the lane VM's one
/// kernel, so both pools live side by side in it.
/// </summary>
public sealed class ReplicationLanePair : IAsyncDisposable
{
    public const string Listen = "[fd00:99::2]:7370", ListenA = "[fd00:99::1]:7370";

    /// <summary>One host's replication parts, wired as the daemon wires them.</summary>
    public sealed record Side(string Host, TestZpool Pool, ReplicationRegistry Registry, ReplicationReceiver Receiver, CapturingLogger<ReplicationReceiver> ReceiverLog,
        ReplicationSender Sender, ReplicationSchedule Schedule, VolumeReconciler Volumes);

    public required TwoHosts Hosts { get; init; }
    public required TestZpool PoolA { get; init; }
    public required TestZpool PoolB { get; init; }
    public required HostCertificates Certs { get; init; }
    public required string Dir { get; init; }
    public required ZfsApi Zfs { get; init; }
    public required TimerClock Clock { get; init; }
    public required Side A { get; init; }
    public required Side B { get; init; }

    public VolumeReconciler VolumesA => A.Volumes;
    public VolumeReconciler VolumesB => B.Volumes;
    public ReplicationReceiver ReceiverB => B.Receiver;
    public CapturingLogger<ReplicationReceiver> ReceiverLogB => B.ReceiverLog;
    public ReplicationSender SenderA => A.Sender;
    public ReplicationSchedule ScheduleA => A.Schedule;

    public static async Task<ReplicationLanePair> CreateAsync(DateTimeOffset start, TimeSpan? tick = null)
    {
        var hosts = new TwoHosts();
        await TwoHosts.PingAsync(hosts.A, "fd00:99::2", TimeSpan.FromSeconds(30));
        await TwoHosts.PingAsync(hosts.B, "fd00:99::1", TimeSpan.FromSeconds(30));
        var a = await TestZpool.CreateAsync("kra", 1L << 30);
        var b = await TestZpool.CreateAsync("krb", 1L << 30);
        string dir = Directory.CreateTempSubdirectory("kraud-repl").FullName;
        var certs = HostCertificates.Create(dir, "h1", "h2", "h3");
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var clock = new TimerClock(start);
        Side Make(string host, TestZpool pool, TestNetns ns, string listen)
        {
            var streams = new ZfsSendReceive(zfs.Cli) { ProgressInterval = TimeSpan.Zero };
            var tls = ReplicationTls.Load(certs.Cert(host), certs.Key(host), certs.CaFile);
            var registry = new ReplicationRegistry();
            var sender = new ReplicationSender(zfs, streams, tls, new CapturingLogger()) { Dial = DialFrom(ns) };
            var schedule = new ReplicationSchedule(zfs, sender, registry, clock, new SemaphoreSlim(2), new CapturingLogger()) { Tick = tick ?? TimeSpan.FromMinutes(15) };
            var log = new CapturingLogger<ReplicationReceiver>();
            var receiver = new ReplicationReceiver(zfs, streams, registry, tls, host, new SemaphoreSlim(2), log);
            receiver.Start(ListenIn(ns, listen));
            var exports = new NfsExports(Path.Combine(dir, host + ".exports"), runner: TestZpool.Run);
            var volumes = new VolumeReconciler(zfs, exports)
            {
                Replication = new ReplicaVolume(zfs, exports, registry)
                {
                    SourceStatus = schedule.StatusNode, Handover = new VolumeHandover(zfs, exports, registry, sender, clock),
                },
            };
            return new Side(host, pool, registry, receiver, log, sender, schedule, volumes);
        }
        return new ReplicationLanePair
        {
            Hosts = hosts, PoolA = a, PoolB = b, Certs = certs, Dir = dir, Zfs = zfs, Clock = clock,
            A = Make("h1", a, hosts.A, ListenA), B = Make("h2", b, hosts.B, Listen),
        };
    }

    /// <summary>A listening socket bound in <paramref name="ns"/>.</summary>
    public static Socket ListenIn(TestNetns ns, string endpoint) => ns.Ns.Run(() =>
    {
        var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(IPEndPoint.Parse(endpoint));
        s.Listen(16);
        return s;
    });

    /// <summary>Connects from <paramref name="ns"/> (the socket is made there; connecting needs no namespace switch).</summary>
    public static Func<string, int, CancellationToken, Task<Socket>> DialFrom(TestNetns ns) => async (host, port, ct) =>
    {
        var s = ns.Ns.Run(() => new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp));
        try { await s.ConnectAsync(IPAddress.Parse(host), port, ct); return s; }
        catch { s.Dispose(); throw; }
    };

    public VolumeSpec SourceSpec(string every = "1h", int keep = 4, HandoverSpec? handover = null, string targetAddress = Listen, string? pool = null,
        string targetHost = "h2") => new()
    {
        Pool = pool ?? PoolA.Name, Class = "nfs", SizeBytes = 256 << 20, Properties = new() { ["compression"] = "off" },
        Replication = new ReplicationSpec
        {
            Role = "source", Every = every, Keep = keep, Handover = handover,
            Targets = [new ReplicationTargetSpec { Host = targetHost, Address = targetAddress }],
        },
    };

    public VolumeSpec ReplicaSpec(string pool, string source = "h1", int keep = 4) => new()
    {
        Pool = pool, Class = "nfs", SizeBytes = 256 << 20,
        Replication = new ReplicationSpec { Role = "replica", Keep = keep, Source = new ReplicationPeerSpec { Host = source } },
    };

    public static void WriteRandom(string path, int bytes)
    {
        var data = new byte[bytes];
        RandomNumberGenerator.Fill(data);
        File.WriteAllBytes(path, data);
    }

    /// <summary>SHA-256 over the relative names and contents of every file below <paramref name="dir"/>.</summary>
    public static string TreeHash(string dir)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            h.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(dir, f) + "\0"));
            h.AppendData(File.ReadAllBytes(f));
        }
        return Convert.ToHexString(h.GetHashAndReset());
    }

    /// <summary>The tree of a snapshot, read through a temporary clone mounted at a directory of the test's.</summary>
    public Task<string> SnapshotTreeHashAsync(string snapshot) => SnapshotTreeHashAsync(snapshot, Dir);

    /// <summary>As <see cref="SnapshotTreeHashAsync(string)"/>, the clone mounted below <paramref name="dir"/>.</summary>
    public static async Task<string> SnapshotTreeHashAsync(string snapshot, string dir)
    {
        string pool = snapshot[..snapshot.IndexOf('/')];
        string clone = $"{pool}/check{Guid.NewGuid().ToString("N")[..6]}";
        string mnt = Path.Combine(dir, "mnt-" + clone.Replace('/', '-'));
        await TestZpool.Zfs("clone", "-o", "mountpoint=" + mnt, snapshot, clone);
        try { return TreeHash(mnt); }
        finally { await TestZpool.Zfs("destroy", clone); }
    }

    public async Task<Dictionary<string, string>> GuidsAsync(string ds) =>
        (await Zfs.ListSnapshotGuidsAsync(ds)).ToDictionary(s => s.Name[(s.Name.IndexOf('@') + 1)..], s => s.Guid);

    public async Task<string> PropAsync(string ds, string prop) => (await Zfs.Cli.GetAsync(ds, [prop]))[prop].Value;

    public async ValueTask DisposeAsync()
    {
        await A.Receiver.DisposeAsync();
        await B.Receiver.DisposeAsync();
        // Holds keep snapshots (and so the pools) busy: release what the sender held before the pools go.
        foreach (var pool in new[] { PoolA, PoolB })
            foreach (var s in await Zfs.ListSnapshotsAsync(pool.Name, recursive: true))
                foreach (var tag in Zfs.GetHolds(s.Name)) Zfs.Release([s.Name], tag);
        await PoolA.DisposeAsync();
        await PoolB.DisposeAsync();
        Hosts.Dispose();
        Directory.Delete(Dir, true);
    }
}
