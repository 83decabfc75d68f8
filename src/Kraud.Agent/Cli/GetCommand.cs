using System.CommandLine;
using System.Text.Json;
using Kraud.Agent.Config;
using Kraud.Agent.ControlPlane;
using Kraud.Agent.Kinds;
using Kraud.Agent.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.Cli;

internal static class GetCommand
{
    public static Command Build()
    {
        var kind = new Argument<string?>("KIND") { Description = "Only this kind (volume, vpc, ...).", Arity = ArgumentArity.ZeroOrOne };
        var id = new Argument<string?>("ID") { Description = "Only this resource.", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Print the status values as JSON lines." };
        var wait = new Option<string?>("--wait") { Description = "With KIND and ID: wait until the resource reaches this phase (Ready, Failed, Deleted).", HelpName = "PHASE" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds --wait waits.", DefaultValueFactory = _ => 60 };
        var cmd = new Command("get", "Print the status of this host's resources from KRAUD_STATUS: kind, id, generation, phase, age and message.")
        {
            kind, id, json, wait, timeout, ClientSettings.Host, ClientSettings.Server,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            AgentConfig config;
            try
            {
                config = ClientSettings.Load(parse);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine("kraud-agent: " + e.Message);
                return ExitCodes.Config;
            }
            string? k = parse.GetValue(kind)?.ToLowerInvariant(), i = parse.GetValue(id), phase = parse.GetValue(wait);
            if (phase is not null && (k is null || i is null))
            {
                Console.Error.WriteLine("kraud-agent get: --wait needs KIND and ID");
                return ExitCodes.Usage;
            }
            string host = config.Host.Length == 0 ? "*" : config.Host;
            string filter = ResourceKey.StatusKeyOf(host, k ?? "*", i ?? "*");
            if (i is null && k is null) filter = host == "*" ? ">" : $"{host}.>";
            try
            {
                await using var nats = await ClientSettings.ConnectAsync(config, ct);
                var store = await new NatsKVContext(new NatsJSContext(nats)).GetStoreAsync(StreamLayout.StatusBucket, ct);
                if (phase is not null) return await WaitAsync(store, filter, phase, TimeSpan.FromSeconds(parse.GetValue(timeout)), ct);
                var rows = new List<ResourceStatus>();
                await foreach (var e in store.GetEntriesAsync(filter, Serializers.Status, ct))
                    if (e.Value is { } s) rows.Add(s);
                Print(rows.OrderBy(r => r.Kind).ThenBy(r => r.Id).ToList(), parse.GetValue(json));
                // One resource asked for by kind and id: what the host has of it too (a pod's VM, addresses, images).
                if (k is not null && i is not null && !parse.GetValue(json) && rows.Count == 1) PrintObserved(rows[0]);
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                Console.Error.WriteLine($"kraud-agent get: {Redaction.Urls(e.Message)} (is the agent running? it creates KRAUD_STATUS)");
                return ExitCodes.Unavailable;
            }
        });
        return cmd;
    }

    private static async Task<int> WaitAsync(INatsKVStore store, string key, string phase, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        ResourceStatus? last = null;
        try
        {
            await foreach (var e in store.FollowAsync(key, Serializers.Status, cts.Token))
            {
                last = e.Value;
                if (last is not null && string.Equals(last.Phase, phase, StringComparison.OrdinalIgnoreCase))
                {
                    Print([last], json: false);
                    return ExitCodes.Ok;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
        Console.Error.WriteLine($"kraud-agent get: {key} did not reach {phase} within {timeout.TotalSeconds:0} s" +
            (last is null ? " (no status yet)" : $" (last: {last.Phase} {last.Message})"));
        return ExitCodes.Failure;
    }

    private static void Print(List<ResourceStatus> rows, bool json)
    {
        if (json)
        {
            foreach (var r in rows) Console.Out.WriteLine(JsonSerializer.Serialize(r, AgentJsonContext.Default.ResourceStatus));
            return;
        }
        Console.Out.WriteLine($"{"HOST",-12} {"KIND",-10} {"ID",-24} {"GEN",5} {"PHASE",-12} {"AGE",6}  MESSAGE");
        foreach (var r in rows)
        {
            Console.Out.WriteLine($"{r.Host,-12} {r.Kind,-10} {r.Id,-24} {r.Generation,5} {r.Phase,-12} {Age(r.UpdatedAt),6}  {r.Message}");
            foreach (var line in ReplicationLines(r.Observed)) Console.Out.WriteLine(line);
        }
    }

    /// <summary>A replicated volume's targets (observed.replication, contract §7), one indented line each, and its RPO warning.</summary>
    internal static IEnumerable<string> ReplicationLines(System.Text.Json.Nodes.JsonObject observed)
    {
        string S(System.Text.Json.Nodes.JsonNode? n, string key) => n?[key]?.ToString() ?? "-";
        if (observed["replication"] is System.Text.Json.Nodes.JsonArray targets)
            foreach (var t in targets)
                yield return $"  -> {S(t, "host"),-10} {S(t, "state"),-9} last {S(t, "lastSnapshot")} sent {S(t, "lastSentAt")} lag {S(t, "lagSeconds")}s bytes {S(t, "bytes")}" +
                    (t?["error"] is { } e ? $"  error: {e}" : "");
        else if (observed["replication"] is System.Text.Json.Nodes.JsonObject replica)
            yield return $"  <- {S(replica, "source"),-10} {S(replica, "state"),-9} last {S(replica, "lastReceived")} at {S(replica, "receivedAt")}";
        if (observed["replicationWarning"] is { } w) yield return "  ! " + w;
    }

    /// <summary>`observed` as indented lines of name: value (objects nested, arrays of scalars on one line).</summary>
    private static void PrintObserved(ResourceStatus r)
    {
        if (r.Observed.Count == 0) return;
        Console.Out.WriteLine("observed:");
        Write(r.Observed, "  ");

        static void Write(System.Text.Json.Nodes.JsonNode? node, string indent)
        {
            switch (node)
            {
                case System.Text.Json.Nodes.JsonObject o:
                    foreach (var (name, value) in o)
                    {
                        if (value is System.Text.Json.Nodes.JsonObject or System.Text.Json.Nodes.JsonArray { Count: > 0 } && !IsScalars(value))
                        {
                            Console.Out.WriteLine($"{indent}{name}:");
                            Write(value, indent + "  ");
                        }
                        else Console.Out.WriteLine($"{indent}{name}: {Scalar(value)}");
                    }
                    break;
                case System.Text.Json.Nodes.JsonArray a:
                    for (int n = 0; n < a.Count; n++)
                    {
                        Console.Out.WriteLine($"{indent}[{n}]");
                        Write(a[n], indent + "  ");
                    }
                    break;
                default:
                    Console.Out.WriteLine(indent + Scalar(node));
                    break;
            }
        }

        static bool IsScalars(System.Text.Json.Nodes.JsonNode? n) => n is System.Text.Json.Nodes.JsonArray a && a.All(x => x is System.Text.Json.Nodes.JsonValue or null);

        static string Scalar(System.Text.Json.Nodes.JsonNode? n) => n switch
        {
            null => "-",
            System.Text.Json.Nodes.JsonArray a => string.Join(", ", a.Select(Scalar)),
            System.Text.Json.Nodes.JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => n.ToJsonString(),
        };
    }

    private static string Age(DateTimeOffset t)
    {
        var d = DateTimeOffset.UtcNow - t;
        return d.TotalSeconds < 120 ? $"{(int)d.TotalSeconds}s" : d.TotalMinutes < 120 ? $"{(int)d.TotalMinutes}m" : d.TotalHours < 48 ? $"{(int)d.TotalHours}h" : $"{(int)d.TotalDays}d";
    }
}
