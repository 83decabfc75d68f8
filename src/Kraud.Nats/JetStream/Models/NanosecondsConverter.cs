using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kraud.Nats.JetStream.Models;

/// <summary>JetStream durations are int64 nanoseconds on the wire; TimeSpan in the API.</summary>
public sealed class NanosecondsConverter : JsonConverter<TimeSpan>
{
    /// <inheritdoc/>
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TimeSpan.FromTicks(reader.GetInt64() / 100);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.Ticks * 100);
}
