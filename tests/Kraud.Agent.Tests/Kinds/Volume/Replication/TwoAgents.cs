using Kraud.Agent.Tests.ControlPlane;
using Kraud.Zfs;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>
/// Two `kraud-agent run` processes as hosts h1 and h2 for the end-to-end replication lane test: each in its network
/// namespace of <see cref="TwoHosts"/> (fd00:99::1 and ::2 on the veth between them, where each listens for replicas),
/// each with its own pool, state dir and config, and certificates made by openssl (<see cref="HostCertificates"/>).
/// One nats-server in the lane's own namespace listens on 0.0.0.0; each host reaches it over a veth of its own
/// (10.98.N.1 here, 10.98.N.2 there), while the test talks to it on 127.0.0.1.
/// </summary>
public sealed class TwoAgents : IAsyncDisposable
{
    public const string ListenA = "[fd00:99::1]:7370", ListenB = "[fd00:99::2]:7370";

    public required TempDir Dir { get; init; }
    public required TwoHosts Hosts { get; init; }
    public required NatsServer Nats { get; init; }
    public required TestControlPlane Cp { get; init; }
    public required TestZpool PoolA { get; init; }
    public required TestZpool PoolB { get; init; }
    public AgentUnderTest? H1 { get; private set; }
    public AgentUnderTest? H2 { get; private set; }
    public ZfsApi Zfs { get; } = new(new ZfsCli(TestZpool.Run));

    public static async Task<TwoAgents> StartAsync()
    {
        var dir = new TempDir("kraud-2agents");
        var hosts = new TwoHosts();
        NatsServer? nats = null;
        TestControlPlane? cp = null;
        TestZpool? a = null, b = null;
        try
        {
            Uplink(hosts.A, 1);
            Uplink(hosts.B, 2);
            await TwoHosts.PingAsync(hosts.A, "fd00:99::2", TimeSpan.FromSeconds(30));
            await TwoHosts.PingAsync(hosts.B, "fd00:99::1", TimeSpan.FromSeconds(30));
            await TwoHosts.PingAsync(hosts.A, "10.98.1.1", TimeSpan.FromSeconds(30));
            await TwoHosts.PingAsync(hosts.B, "10.98.2.1", TimeSpan.FromSeconds(30));
            nats = await NatsServer.StartAsync(new NatsServerOptions { ListenHost = "0.0.0.0" });
            cp = await TestControlPlane.ConnectAsync(nats.Url);
            a = await TestZpool.CreateAsync("kra", 1L << 30);
            b = await TestZpool.CreateAsync("krb", 1L << 30);
            var certs = HostCertificates.Create(Directory.CreateDirectory(dir.File("certs")).FullName, "h1", "h2");
            var w = new TwoAgents { Dir = dir, Hosts = hosts, Nats = nats, Cp = cp, PoolA = a, PoolB = b };
            w.H1 = w.Agent("h1", hosts.A, $"nats://10.98.1.1:{nats.Port}", ListenA, certs);
            w.H2 = w.Agent("h2", hosts.B, $"nats://10.98.2.1:{nats.Port}", ListenB, certs);
            await w.WaitServingAsync(w.H1);
            await w.WaitServingAsync(w.H2);
            return w;
        }
        catch
        {
            if (cp is not null) await cp.DisposeAsync();
            if (nats is not null) await nats.DisposeAsync();
            if (a is not null) await a.DisposeAsync();
            if (b is not null) await b.DisposeAsync();
            hosts.Dispose();
            dir.Dispose();
            throw;
        }
    }

    /// <summary>A veth from the lane's namespace into <paramref name="ns"/> (10.98.N.0/24), for NATS only; it goes with the namespace.</summary>
    private static void Uplink(TestNetns ns, int n)
    {
        string outside = $"kup{n}{ns.Name[^4..]}";
        Cmd.Run("ip", "link", "add", outside, "type", "veth", "peer", "name", "up0", "netns", ns.Name);
        Cmd.Run("ip", "addr", "add", $"10.98.{n}.1/24", "dev", outside);
        Cmd.Run("ip", "link", "set", outside, "up");
        ns.Exec("ip", "addr", "add", $"10.98.{n}.2/24", "dev", "up0");
        ns.Exec("ip", "link", "set", "up0", "up");
    }

    private AgentUnderTest Agent(string host, TestNetns ns, string natsUrl, string listen, HostCertificates certs)
    {
        // The agent reads its key as root; keep it as a real host would (0600).
        File.SetUnixFileMode(certs.Key(host), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string replication = $$"""
            "replication": { "listen": "{{listen}}", "certFile": "{{certs.Cert(host)}}", "keyFile": "{{certs.Key(host)}}", "caFile": "{{certs.CaFile}}" }
            """;
        return new AgentUnderTest(Dir, host, host, natsUrl, configExtra: replication, netns: ns.Name);
    }

    private async Task WaitServingAsync(AgentUnderTest agent)
    {
        await agent.WaitServingAsync(timeout: TimeSpan.FromMinutes(2));
        Assert.False(agent.Process.HasExited, "the agent exited:\n" + string.Join('\n', agent.Process.Stderr.TakeLast(30)));
    }

    /// <summary>Polls KRAUD_STATUS for h's v1 until <paramref name="condition"/>; the agents' last log lines in the failure.</summary>
    public async Task<ResourceStatus> StatusAsync(string host, Func<ResourceStatus, bool> condition, TimeSpan timeout)
    {
        try { return await Cp.WaitForStatusAsync(host, "volume", "v1", condition, timeout); }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nh1:\n{Tail(H1)}\nh2:\n{Tail(H2)}", e);
        }
    }

    private static string Tail(AgentUnderTest? a) => a is null ? "" : string.Join('\n', a.Process.Stdout.Concat(a.Process.Stderr).TakeLast(25));

    public async Task<Dictionary<string, string>> GuidsAsync(string ds) =>
        (await Zfs.ListSnapshotGuidsAsync(ds)).ToDictionary(s => s.Name[(s.Name.IndexOf('@') + 1)..], s => s.Guid);

    public async Task<string> PropAsync(string ds, string prop) => (await Zfs.Cli.GetAsync(ds, [prop]))[prop].Value;

    public async ValueTask DisposeAsync()
    {
        H1?.Dispose();
        H2?.Dispose();
        await Cp.DisposeAsync();
        await Nats.DisposeAsync();
        // Holds keep snapshots (and so the pools) busy: release what the senders held before the pools go.
        foreach (var pool in new[] { PoolA, PoolB })
            foreach (var s in await Zfs.ListSnapshotsAsync(pool.Name, recursive: true))
                foreach (var tag in Zfs.GetHolds(s.Name)) Zfs.Release([s.Name], tag);
        await PoolA.DisposeAsync();
        await PoolB.DisposeAsync();
        Hosts.Dispose();
        Dir.Dispose();
    }
}
