using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Zfs;
using Kraud.Zfs.Send;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>
/// The listener's TLS and refusals on this host's loopback (no ZFS needed: every case here is refused before a
/// dataset is looked at). The lane tests carry streams.
/// </summary>
public sealed class ReplicationTransportTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kraud-repl-tls").FullName;
    private HostCertificates _certs = null!;
    private ReplicationReceiver _receiver = null!;
    private readonly CapturingLogger<ReplicationReceiver> _log = new();
    private readonly ReplicationRegistry _registry = new();
    private int _port;

    public Task InitializeAsync()
    {
        _certs = HostCertificates.Create(_dir, "h1", "h2", "h3");
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listen.Listen(8);
        _port = ((IPEndPoint)listen.LocalEndPoint!).Port;
        _receiver = new ReplicationReceiver(zfs, new ZfsSendReceive(zfs.Cli), _registry, Tls("h2"), "h2", new SemaphoreSlim(2), _log)
            { HandshakeLimit = TimeSpan.FromSeconds(5) };
        _receiver.Start(listen);
        return Task.CompletedTask;
    }

    private ReplicationTls Tls(string host) => ReplicationTls.Load(_certs.Cert(host), _certs.Key(host), _certs.CaFile);

    private ReplicationSender Sender(ReplicationTls tls) => new(new ZfsApi(new ZfsCli(TestZpool.Run)), new ZfsSendReceive(), tls, new CapturingLogger());

    private ReplicationTargetSpec Target(string host = "h2") => new() { Host = host, Address = $"127.0.0.1:{_port}" };

    [Fact]
    public async Task AHostThatIsNotTheVolumesSourceIsRefusedAndLoggedByName()
    {
        _registry.SetReplica("v1", new ReplicaEntry("tank", "h1", 4, 1, IsNfs: true));
        var e = await Assert.ThrowsAsync<ReplicationRefusedException>(() => Sender(Tls("h3")).SendAsync("v1", "tank/kraud/v1", Target(), "tank/kraud/v1@repl-20261205T000000Z"));
        Assert.Contains("receives from 'h1', not from 'h3'", e.Message);
        var line = Assert.Single(_log.Lines, l => l.Message.Contains("refused state from host 'h3'"));
        Assert.Equal(("Volume", "v1"), (line.ScopeValue("Kind"), line.ScopeValue("Id")));
        Assert.Contains("nothing written", line.Message);
    }

    [Fact]
    public async Task AVolumeThisHostKeepsNoReplicaOfIsRefused()
    {
        _registry.SetReplica("v1", new ReplicaEntry("tank", "h1", 4, 1, IsNfs: true));
        var e = await Assert.ThrowsAsync<ReplicationRefusedException>(() => Sender(Tls("h1")).SendAsync("v2", "tank/kraud/v2", Target(), "tank/kraud/v2@repl-20261205T000000Z"));
        Assert.Contains("keeps no replica of volume 'v2'", e.Message);
        Assert.Equal(1, _receiver.Refused);
    }

    [Fact]
    public async Task TheSenderRefusesAListenerThatIsNotTheTargetHost()
    {
        // The listener is h2; a spec that says the target at this address is h3 must not send to it.
        await Assert.ThrowsAnyAsync<System.Security.Authentication.AuthenticationException>(() =>
            Sender(Tls("h1")).SendAsync("v1", "tank/kraud/v1", Target("h3"), "tank/kraud/v1@repl-20261205T000000Z"));
    }

    [Fact]
    public async Task ACertificateOfAnotherCaIsRefusedInTheHandshake()
    {
        var (cert, key) = _certs.Foreign("h1", "h1-foreign");
        var foreign = ReplicationTls.Load(cert, key, _certs.CaFile);
        await Assert.ThrowsAnyAsync<Exception>(() => Sender(foreign).SendAsync("v1", "tank/kraud/v1", Target(), "tank/kraud/v1@repl-20261205T000000Z"));
        await Deadline.WaitUntilAsync(() => _receiver.Refused == 1, TimeSpan.FromSeconds(20), "the receiver to count the refused handshake");
        Assert.Contains(_log.Lines, l => l.Message.Contains("no TLS 1.3 handshake"));
    }

    [Fact]
    public async Task APlainTcpClientGetsNothing()
    {
        using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await plain.ConnectAsync(IPAddress.Loopback, _port);
        await plain.SendAsync("{\"op\":\"state\",\"volume\":\"v1\"}\n"u8.ToArray());
        var buffer = new byte[4096];
        int total = 0, n;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { while ((n = await plain.ReceiveAsync(buffer, limit.Token)) > 0) total += n; }
        catch (SocketException) { /* reset: nothing either */ }
        Assert.Equal(0, total);
        await Deadline.WaitUntilAsync(() => _receiver.Refused == 1, TimeSpan.FromSeconds(20), "the receiver to count the plain client");
        Assert.Contains(_log.Lines, l => l.Message.Contains("refused a connection from 127.0.0.1"));
    }

    [Fact]
    public async Task TheTransportAgreesOnAes128GcmAndStillConnectsToAPeerOfferingOnlyAes256Gcm()
    {
        Assert.Equal(TlsCipherSuite.TLS_AES_128_GCM_SHA256, await NegotiatedAsync(Tls("h1").ClientOptions("h2")));
        var only256 = Tls("h1").ClientOptions("h2");
        only256.CipherSuitesPolicy = new CipherSuitesPolicy([TlsCipherSuite.TLS_AES_256_GCM_SHA384]);
        Assert.Equal(TlsCipherSuite.TLS_AES_256_GCM_SHA384, await NegotiatedAsync(only256));
    }

    /// <summary>The suite a handshake of <paramref name="client"/> with the transport's server side (h2) agrees on.</summary>
    private async Task<TlsCipherSuite> NegotiatedAsync(SslClientAuthenticationOptions client)
    {
        using var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listen.Listen(1);
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accepting = listen.AcceptAsync();
        await c.ConnectAsync(listen.LocalEndPoint!);
        await using var cs = new SslStream(new NetworkStream(c));
        await using var ss = new SslStream(new NetworkStream(await accepting, ownsSocket: true));
        await Task.WhenAll(cs.AuthenticateAsClientAsync(client), ss.AuthenticateAsServerAsync(Tls("h2").ServerOptions()));
        Assert.Equal((SslProtocols.Tls13, cs.NegotiatedCipherSuite), (ss.SslProtocol, ss.NegotiatedCipherSuite));
        return cs.NegotiatedCipherSuite;
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        Directory.Delete(_dir, true);
    }
}
