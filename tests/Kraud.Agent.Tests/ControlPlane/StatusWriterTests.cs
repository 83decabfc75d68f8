using System.Text.Json.Nodes;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>
/// The status writer against a real nats-server and KRAUD_STATUS, at the server's message size limit: a status whose
/// observed does not fit in one message (max_payload, 1 MiB by default) still reaches the control plane, without it.
/// </summary>
public sealed class StatusWriterTests : StatusBucketTestBase
{
    private readonly CapturingLogger<StatusWriter> _log = new();

    /// <summary>An observed of about <paramref name="bytes"/> bytes: peers as a Vpc with many of them reports them.</summary>
    private static JsonObject Observed(int bytes)
    {
        var peers = new JsonArray();
        for (int i = 0; i < bytes / 100; i++)
            peers.Add((JsonNode)new JsonObject { ["publicKey"] = Convert.ToBase64String(new byte[32]) + i, ["endpoint"] = $"[2001:db8::{i % 65535:x}]:51820" });
        return new JsonObject { ["interface"] = "kw0", ["peers"] = peers };
    }

    private static ResourceStatus Status(long generation, string phase, JsonObject observed) => new()
    {
        Host = "h1", Kind = "Vpc", Id = "big", Generation = generation, Phase = phase, Message = "configured", Attempts = 1,
        Observed = observed,
    };

    private async Task<ResourceStatus> ReadAsync() => (await Bucket.GetEntryAsync("h1.vpc.big", serializer: Serializers.Status)).Value!;

    [Fact]
    public async Task AStatusTooLargeForOneMessage_IsWrittenWithoutItsObserved_WhichSaysSo()
    {
        var writer = new StatusWriter(Bucket, TimeProvider.System, _log);
        await writer.WriteAsync(Status(1, ResourceStatus.Ready, Observed(2 << 20)), default);

        var stored = await ReadAsync();
        Assert.Equal(ResourceStatus.Ready, stored.Phase);
        Assert.Equal("configured", stored.Message);
        Assert.Equal(1, stored.Generation);
        Assert.Null(stored.Observed["peers"]);
        Assert.Contains("too large for one NATS message", (string?)stored.Observed["omitted"]);
        Assert.Contains(_log.Lines, l => l.Message.Contains("over the server's 1048576-byte message limit", StringComparison.Ordinal) && l.Message.Contains("Vpc big", StringComparison.Ordinal));

        // The next one that fits is written whole, over it.
        await writer.WriteAsync(Status(2, ResourceStatus.Ready, Observed(10_000)), default);
        stored = await ReadAsync();
        Assert.Equal(2, stored.Generation);
        Assert.Null(stored.Observed["omitted"]);
        Assert.Equal(100, stored.Observed["peers"]!.AsArray().Count);
    }

    [Fact]
    public async Task AnAmendThatMakesTheStatusTooLarge_IsWrittenWithoutTheObserved()
    {
        var writer = new StatusWriter(Bucket, TimeProvider.System, _log);
        await writer.WriteAsync(Status(1, ResourceStatus.Ready, Observed(1_000)), default);

        var outcome = await writer.AmendObservedAsync("h1", "Vpc", "big", 1, o => { o["peers"] = Observed(2 << 20)["peers"]!.DeepClone(); return true; }, default);

        Assert.Equal(AmendOutcome.Amended, outcome);
        var stored = await ReadAsync();
        Assert.Equal(ResourceStatus.Ready, stored.Phase);
        Assert.Contains("too large for one NATS message", (string?)stored.Observed["omitted"]);
    }
}
