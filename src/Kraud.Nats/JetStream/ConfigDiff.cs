using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

/// <summary>
/// Differences between a wanted config and the one the server has (for a drift warning). Only fields the
/// wanted config sets are compared (zero numbers ask for the server default and are skipped), so
/// server-side normalization does not count; each entry reads
/// "field: wanted X, server has Y".
/// </summary>
public static class ConfigDiff
{
    /// <summary>Stream config differences.</summary>
    public static IReadOnlyList<string> Differences(StreamConfig wanted, StreamConfig actual) =>
        Compare(wanted, actual, JSJsonContext.Default.StreamConfig);

    /// <summary>Consumer config differences.</summary>
    public static IReadOnlyList<string> Differences(ConsumerConfig wanted, ConsumerConfig actual) =>
        Compare(wanted, actual, JSJsonContext.Default.ConsumerConfig);

    private static List<string> Compare<T>(T wanted, T actual, JsonTypeInfo<T> info)
    {
        using var w = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(wanted, info));
        using var a = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(actual, info));
        var diffs = new List<string>();
        foreach (var p in w.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Number && p.Value.GetRawText() == "0") continue; // zero asks for the server default
            var wantedText = p.Value.GetRawText();
            var actualText = a.RootElement.TryGetProperty(p.Name, out var av) ? av.GetRawText() : "(unset)";
            if (wantedText != actualText) diffs.Add($"{p.Name}: wanted {wantedText}, server has {actualText}");
        }
        return diffs;
    }
}
