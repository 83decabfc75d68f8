using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>The test's side of the contract (through NATS.Net, as a control plane would): publishes envelopes, reads statuses and host records.</summary>
public sealed class TestControlPlane : IAsyncDisposable
{
    private INatsKVStore? _status, _hosts;

    private TestControlPlane(NatsConnection connection)
    {
        Connection = connection;
        JetStream = new NatsJSContext(connection);
    }

    public NatsConnection Connection { get; }
    public NatsJSContext JetStream { get; }

    public static Task<TestControlPlane> ConnectAsync(string urls) => ConnectAsync(NatsOpts.Default with { Url = urls });

    /// <summary>With the options a secured server needs (credentials, TLS).</summary>
    public static async Task<TestControlPlane> ConnectAsync(NatsOpts opts)
    {
        // 15 s to connect, not NATS.Net's 2 s: in the kernel lane (emulated CPU, one TCG thread) the handshake with a
        // freshly started nats-server once took longer than 2 s and the test failed before it began.
        var c = new NatsConnection(opts with { Name = "test control plane", RetryOnInitialConnect = false, ConnectTimeout = TimeSpan.FromSeconds(15) });
        await c.ConnectAsync();
        return new TestControlPlane(c);
    }

    public static string Envelope(string kind, string id, long generation, string spec = "{}", bool deleted = false) =>
        $$"""{"apiVersion":"kraud.cloud/v1","kind":"{{kind}}","id":"{{id}}","generation":{{generation}},"deleted":{{(deleted ? "true" : "false")}},"spec":{{spec}}}""";

    public async Task PublishAsync(string subject, string payload) => await PublishAsync(subject, Encoding.UTF8.GetBytes(payload));

    public async Task PublishAsync(string subject, byte[] payload) =>
        (await JetStream.PublishAsync(subject, payload, Serializers.Bytes)).EnsureSuccess();

    public Task PublishAsync(string host, string kind, string id, long generation, string spec = "{}", bool deleted = false) =>
        PublishAsync($"kraud.desired.{host}.{kind.ToLowerInvariant()}.{id}", Envelope(kind, id, generation, spec, deleted));

    private async Task<INatsKVStore> StatusAsync() => _status ??= await new NatsKVContext(JetStream).GetStoreAsync("KRAUD_STATUS");

    public async Task<ResourceStatus?> GetStatusAsync(string host, string kindToken, string id) =>
        (await (await StatusAsync()).GetOrNullAsync($"{host}.{kindToken}.{id}", Serializers.Status))?.Value;

    public async Task<Dictionary<string, ResourceStatus>> AllStatusesAsync()
    {
        var all = new Dictionary<string, ResourceStatus>();
        await foreach (var e in (await StatusAsync()).GetEntriesAsync(">", Serializers.Status))
            if (e.Value is { } s) all[e.Key] = s;
        return all;
    }

    public async Task<HostRecord?> GetHostAsync(string host)
    {
        _hosts ??= await new NatsKVContext(JetStream).GetStoreAsync("KRAUD_HOSTS");
        return (await _hosts.GetOrNullAsync(host, Serializers.HostRecord))?.Value;
    }

    /// <summary>Polls until the resource's status satisfies <paramref name="condition"/>.</summary>
    public async Task<ResourceStatus> WaitForStatusAsync(string host, string kindToken, string id, Func<ResourceStatus, bool> condition, TimeSpan timeout)
    {
        ResourceStatus? last = null;
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            try
            {
                last = await GetStatusAsync(host, kindToken, id);
                if (last is not null && condition(last)) return last;
            }
            catch (NatsException)
            {
                // The bucket may not exist yet, or a cluster member is down: poll again.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"status of {host}.{kindToken}.{id} not as expected within {timeout.TotalSeconds} s; last: {(last is null ? "none" : JsonSerializer.Serialize(last, AgentJsonContext.Default.ResourceStatus))}");
    }

    public async Task<ulong> WorkMessagesAsync(string subjectFilter)
    {
        var s = await JetStream.GetStreamAsync("KRAUD_WORK", new() { SubjectsFilter = subjectFilter });
        return (ulong)s.Info.State.Messages;
    }

    /// <summary>The newest desired state of a subject, or null (purged).</summary>
    public Task<StreamMessage?> LastDesiredAsync(string subject) => new StreamMessageReader(Connection, StreamLayout.Desired).GetLastAsync(subject, default);

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
