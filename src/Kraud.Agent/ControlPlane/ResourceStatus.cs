using System.Text.Json.Nodes;

namespace Kraud.Agent.ControlPlane;

/// <summary>A value in KRAUD_STATUS (contract section 4).</summary>
public sealed record ResourceStatus
{
    public const string Progressing = "Progressing", Ready = "Ready", Failed = "Failed", Deleted = "Deleted";

    public required string Host { get; init; }
    public required string Kind { get; init; }
    public required string Id { get; init; }
    public long Generation { get; init; }
    public required string Phase { get; init; }
    public string Message { get; init; } = "";
    public long Attempts { get; init; }
    public JsonObject Observed { get; init; } = new();
    [System.Text.Json.Serialization.JsonConverter(typeof(UtcMillisecondsConverter))]
    public DateTimeOffset UpdatedAt { get; init; }
}
