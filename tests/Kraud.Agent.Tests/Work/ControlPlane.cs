using System.Text;
using System.Text.Json;
using Kraud.Agent.Status;
using Kraud.Nats;
using Kraud.Nats.JetStream;
using Kraud.Nats.KeyValue;

namespace Kraud.Agent.Tests.Work;

/// <summary>The test's side of the contract: publishes envelopes, reads statuses and host records.</summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private NatsKVStore? _status, _hosts;

    private ControlPlane(NatsConnection connection)
    {
        Connection = connection;
        JetStream = new NatsJSContext(connection);
    }

    public NatsConnection Connection { get; }
    public NatsJSContext JetStream { get; }

    public static async Task<ControlPlane> ConnectAsync(string urls)
    {
        var c = new NatsConnection(new NatsOpts { Url = urls, Name = "test control plane", RetryOnInitialConnect = false });
        await c.ConnectAsync();
        return new ControlPlane(c);
    }

    public static string Envelope(string kind, string id, long generation, string spec = "{}", bool deleted = false) =>
        $$"""{"apiVersion":"kraud.cloud/v1","kind":"{{kind}}","id":"{{id}}","generation":{{generation}},"deleted":{{(deleted ? "true" : "false")}},"spec":{{spec}}}""";

    public async Task PublishAsync(string subject, string payload) =>
        (await JetStream.PublishAsync(subject, Encoding.UTF8.GetBytes(payload))).EnsureSuccess();

    public Task PublishAsync(string host, string kind, string id, long generation, string spec = "{}", bool deleted = false) =>
        PublishAsync($"kraud.desired.{host}.{kind.ToLowerInvariant()}.{id}", Envelope(kind, id, generation, spec, deleted));

    private async Task<NatsKVStore> StatusAsync() => _status ??= await new NatsKVContext(JetStream).GetStoreAsync("KRAUD_STATUS");

    public async Task<ResourceStatus?> GetStatusAsync(string host, string kindToken, string id)
    {
        var e = await (await StatusAsync()).TryGetEntryAsync($"{host}.{kindToken}.{id}");
        return e?.Deserialize(AgentJsonContext.Default.ResourceStatus);
    }

    public async Task<Dictionary<string, ResourceStatus>> AllStatusesAsync()
    {
        var all = new Dictionary<string, ResourceStatus>();
        await foreach (var e in (await StatusAsync()).GetEntriesAsync())
            if (e.Deserialize(AgentJsonContext.Default.ResourceStatus) is { } s) all[e.Key] = s;
        return all;
    }

    public async Task<HostRecord?> GetHostAsync(string host)
    {
        _hosts ??= await new NatsKVContext(JetStream).GetStoreAsync("KRAUD_HOSTS");
        var e = await _hosts.TryGetEntryAsync(host);
        return e?.Deserialize(AgentJsonContext.Default.HostRecord);
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
        return s.Info.State.Messages;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
