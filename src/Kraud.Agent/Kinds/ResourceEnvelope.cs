using System.Text.Json;

namespace Kraud.Agent.Kinds;

/// <summary>The payload on KRAUD_DESIRED (contract section 2), validated against its subject.</summary>
public sealed record ResourceEnvelope(string ApiVersion, string Kind, string Id, long Generation, bool Deleted, JsonElement Spec)
{
    public const string V1 = "kraud.cloud/v1";
    public const int MaxBytes = 256 * 1024;
}
