using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.Config;
using Kraud.Agent.ControlPlane;
using Kraud.Agent.Hosting;
using Kraud.Agent.Kinds;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.Cli;

internal static class ApplyCommand
{
    public static Command Build()
    {
        var file = new Option<string>("--file", "-f") { Description = "Envelope file (one JSON envelope or an array of them); - reads stdin.", Required = true, HelpName = "FILE" };
        var cmd = new Command("apply",
            "Publish desired state to KRAUD_DESIRED, as the control plane does: kraud.desired.<host>.<kind>.<id>. Each " +
            "envelope needs apiVersion, kind, id and spec; a missing generation becomes the current one plus 1. " +
            "Follow the result with `kraud-agent get`.")
        {
            file, ClientSettings.Host, ClientSettings.Server,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            AgentConfig config;
            List<JsonObject> envelopes;
            try
            {
                config = ClientSettings.Load(parse);
                if (config.Host.Length == 0) throw new ConfigException("--host", "host", "required: pass --host or run where /etc/kraud/agent.json names it");
                envelopes = Read(parse.GetValue(file)!);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine("kraud-agent: " + e.Message);
                return ExitCodes.Config;
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine("kraud-agent apply: " + e.Message);
                return ExitCodes.DataError;
            }
            try
            {
                await using var nats = await ClientSettings.ConnectAsync(config, ct);
                var js = new NatsJSContext(nats);
                INatsKVStore? status = null;
                var desired = new StreamMessageReader(nats, StreamLayout.Desired);
                foreach (var envelope in envelopes)
                {
                    var key = new ResourceKey(config.Host, ResourceKinds.SubjectToken((string)envelope["kind"]!), (string)envelope["id"]!);
                    if (envelope["generation"] is null)
                    {
                        status ??= await new NatsKVContext(js).GetStoreAsync(StreamLayout.StatusBucket, ct);
                        envelope["generation"] = await NextGenerationAsync(desired, status, key, ct);
                    }
                    var ack = await js.PublishAsync(key.DesiredSubject, JsonSerializer.SerializeToUtf8Bytes(envelope, JsonContext.Default.JsonObject), Serializers.Bytes, cancellationToken: ct);
                    ack.EnsureSuccess();
                    Console.Out.WriteLine($"{key.Kind}/{key.Id} generation {envelope["generation"]} published (seq {ack.Seq})");
                }
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                Console.Error.WriteLine($"kraud-agent apply: {Redaction.Urls(e.Message)} (is the agent running? it creates KRAUD_DESIRED)");
                return ExitCodes.Unavailable;
            }
        });
        return cmd;
    }

    private static List<JsonObject> Read(string path)
    {
        string text;
        try
        {
            text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}");
        }
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}");
        }
        var list = node switch
        {
            JsonObject o => [o],
            JsonArray a => a.Select(n => n as JsonObject ?? throw new InvalidDataException($"{path}: every item must be an envelope object")).ToList(),
            _ => throw new InvalidDataException($"{path}: expected an envelope object or an array of them"),
        };
        foreach (var e in list)
        {
            e["apiVersion"] ??= ResourceEnvelope.V1;
            if (e["kind"] is not JsonValue k || !k.TryGetValue(out string? kind) || ResourceKinds.FromSubjectToken(kind.ToLowerInvariant()) is not { } canonical)
                throw new InvalidDataException($"{path}: kind must be one of Vpc, Overlay, Volume, Snapshot, Pod, Probe");
            e["kind"] = canonical; // "volume" as typed by hand is published as the contract's "Volume"
            if (e["id"] is not JsonValue i || !i.TryGetValue(out string? id) || !ResourceKey.IdRule().IsMatch(id))
                throw new InvalidDataException($"{path}: id must match [a-z0-9][a-z0-9-]{{0,62}}");
        }
        return list.Select(e => (JsonObject)e.DeepClone()).ToList();
    }

    /// <summary>
    /// One more than the newest generation known: the desired state's, or, after a finished delete purged it,
    /// the status's, so a resource created again keeps counting up as the contract's generation does.
    /// </summary>
    private static async Task<long> NextGenerationAsync(StreamMessageReader desired, INatsKVStore status, ResourceKey key, CancellationToken ct)
    {
        long newest = 0;
        var last = await desired.GetLastAsync(key.DesiredSubject, ct);
        if (last is not null) newest = EnvelopeParser.TryReadGeneration(last.Data.Span) ?? 0;
        var entry = await status.GetOrNullAsync(key.StatusKey, Serializers.Status, ct);
        if (entry?.Value is { } s) newest = Math.Max(newest, s.Generation);
        return newest + 1;
    }
}
