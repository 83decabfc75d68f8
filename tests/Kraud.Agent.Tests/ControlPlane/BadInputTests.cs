namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>Bad envelopes fail permanently with a message naming the problem; the agent keeps serving.</summary>
public sealed class BadInputTests : ServingAgentTestBase
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        // kind token, id, payload, what the message must say
        { "probe", "bad-json", "{ \"apiVersion\": ", "not valid JSON" },
        { "probe", "too-big", TestControlPlane.Envelope("Probe", "too-big", 1, $$"""{"pad":"{{new string('x', 300 * 1024)}}"}"""), "over the limit of 262144 (256 KiB)" },
        { "probe", "old-api", TestControlPlane.Envelope("Probe", "old-api", 1).Replace("kraud.cloud/v1", "kraud.cloud/v0"), "apiVersion: \"kraud.cloud/v0\" is not supported" },
        { "probe", "kind-mismatch", TestControlPlane.Envelope("Volume", "kind-mismatch", 1), "kind: \"Volume\" does not match the subject's kind \"probe\"" },
        { "probe", "id-mismatch", TestControlPlane.Envelope("Probe", "other", 1), "id: \"other\" does not match the subject's id \"id-mismatch\"" },
        { "gizmo", "unknown-kind", TestControlPlane.Envelope("gizmo", "unknown-kind", 1), "kind: \"gizmo\" is not a known kind" },
        { "probe", "bad-spec", TestControlPlane.Envelope("Probe", "bad-spec", 1, """{"holdMs":-5}"""), "spec.holdMs: must be an integer" },
        { "probe", "no-generation", TestControlPlane.Envelope("Probe", "no-generation", 0), "generation: must be a positive integer" },
        { "probe", "lower-kind", TestControlPlane.Envelope("probe", "lower-kind", 1), "kind: \"probe\" does not match the subject's kind \"probe\" (expected \"Probe\")" },
        { "Probe", "upper-token", TestControlPlane.Envelope("Probe", "upper-token", 1), "kind: \"Probe\" is not a known kind" },
        { "probe", "Bad_Id", TestControlPlane.Envelope("Probe", "Bad_Id", 1), "id: the subject's id \"Bad_Id\" must match" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Fails_permanently_terminates_the_token_and_keeps_serving(string kind, string id, string payload, string expected)
    {
        await Cp.PublishAsync($"kraud.desired.h1.{kind}.{id}", payload);
        var status = await Cp.WaitForStatusAsync("h1", kind, id, s => s.Phase == "Failed", TimeSpan.FromSeconds(20));
        Assert.Contains(expected, status.Message);
        Assert.Equal(1, status.Attempts);

        // Terminated: no token left for it (a queued or held token would still be in the work queue).
        await Deadline.WaitUntilAsync(async () => await Cp.WorkMessagesAsync($"kraud.work.h1.{kind}.{id}") == 0, TimeSpan.FromSeconds(10), "the token to be gone");
        Assert.False(Agent.Process.HasExited);

        // And the agent still serves a good resource.
        string good = "good-after-" + id.ToLowerInvariant().Replace('_', '-');
        await Cp.PublishAsync("h1", "Probe", good, 1);
        await Cp.WaitForStatusAsync("h1", "probe", good, s => s.Phase == "Ready", TimeSpan.FromSeconds(20));

        // Never retried: still one attempt.
        Assert.Equal(1, (await Cp.GetStatusAsync("h1", kind, id))!.Attempts);
    }

    [Theory]
    [InlineData("{ \"apiVersion\": ", null)] // not JSON: reported at the stored generation
    [InlineData("""{"apiVersion":"kraud.cloud/v0","kind":"Probe","id":"was-ready","generation":4,"spec":{}}""", 4L)]
    public async Task A_broken_envelope_after_a_ready_one_still_reports_failed(string payload, long? generation)
    {
        await Cp.PublishAsync("h1", "Probe", "was-ready", 3);
        await Cp.WaitForStatusAsync("h1", "probe", "was-ready", s => s.Phase == "Ready" && s.Generation == 3, TimeSpan.FromSeconds(20));
        await Cp.PublishAsync("kraud.desired.h1.probe.was-ready", payload);
        var failed = await Cp.WaitForStatusAsync("h1", "probe", "was-ready", s => s.Phase == "Failed", TimeSpan.FromSeconds(20));
        Assert.Equal(generation ?? 3, failed.Generation);
    }

    [Fact]
    public async Task Fields_beside_the_envelopes_own_are_ignored_and_the_spec_is_served()
    {
        await Cp.PublishAsync("kraud.desired.h1.probe.labelled",
            """{"apiVersion":"kraud.cloud/v1","kind":"Probe","id":"labelled","generation":1,"labels":{"team":"a"},"spec":{}}""");
        await Cp.WaitForStatusAsync("h1", "probe", "labelled", s => s.Phase == "Ready", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_transient_failure_is_retried_with_the_attempt_count()
    {
        await Cp.PublishAsync("h1", "Probe", "flaky", 1, """{"fail":"transient"}""");
        var s = await Cp.WaitForStatusAsync("h1", "probe", "flaky", s => s.Phase == "Failed" && s.Attempts >= 2, TimeSpan.FromSeconds(20));
        Assert.Contains("probe asked to fail transiently", s.Message);
        Assert.Contains("retrying in", s.Message);
        await Cp.PublishAsync("h1", "Probe", "flaky", 2, """{"fail":null}""");
        var ok = await Cp.WaitForStatusAsync("h1", "probe", "flaky", s => s.Phase == "Ready", TimeSpan.FromSeconds(90));
        Assert.Equal(2, ok.Generation);
    }
}
