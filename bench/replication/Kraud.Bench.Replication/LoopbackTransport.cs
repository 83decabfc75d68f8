using System.Net;
using System.Net.Sockets;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Zfs;
using Kraud.Zfs.Send;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Bench.Replication;

/// <summary>
/// Our transport between two hosts on loopback, as the bench's runs use it: h2's receiver (listening on a free
/// port) holding the replica of volume v1 in <c>dstPool</c> for source h1, and h1's sender aimed at it.
/// </summary>
public sealed class LoopbackTransport : IAsyncDisposable
{
    private readonly ReplicationReceiver _receiver;

    public ReplicationSender Sender { get; }
    public ReplicationTargetSpec Target { get; }

    public LoopbackTransport(ZfsApi zfs, ZfsSendReceive streams, string dstPool, Func<string, ReplicationTls> tlsOf)
    {
        var registry = new ReplicationRegistry();
        registry.SetReplica("v1", new ReplicaEntry(dstPool, "h1", 10, 1, IsNfs: true));
        _receiver = new ReplicationReceiver(zfs, streams, registry, tlsOf("h2"), "h2", new SemaphoreSlim(2), NullLogger.Instance);
        var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listen.Listen(4);
        _receiver.Start(listen);
        Sender = new ReplicationSender(zfs, streams, tlsOf("h1"), NullLogger.Instance);
        Target = new ReplicationTargetSpec { Host = "h2", Address = $"127.0.0.1:{((IPEndPoint)listen.LocalEndPoint!).Port}" };
    }

    public ValueTask DisposeAsync() => _receiver.DisposeAsync();
}
