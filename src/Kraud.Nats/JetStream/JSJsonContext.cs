using System.Text.Json.Serialization;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

/// <summary>Source-generated JSON for the JetStream API: snake_case names, nulls omitted.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StreamConfig))]
[JsonSerializable(typeof(StreamInfo))]
[JsonSerializable(typeof(StreamInfoRequest))]
[JsonSerializable(typeof(StreamPurgeRequest))]
[JsonSerializable(typeof(StreamPurgeResponse))]
[JsonSerializable(typeof(StreamMsgGetRequest))]
[JsonSerializable(typeof(StreamMsgGetResponse))]
[JsonSerializable(typeof(StreamMsgDeleteRequest))]
[JsonSerializable(typeof(SuccessResponse))]
[JsonSerializable(typeof(ConsumerCreateRequest))]
[JsonSerializable(typeof(ConsumerInfo))]
[JsonSerializable(typeof(PubAckResponse))]
[JsonSerializable(typeof(ApiErrorResponse))]
[JsonSerializable(typeof(PullRequest))]
[JsonSerializable(typeof(NakDelay))]
[JsonSerializable(typeof(AccountInfo))]
[JsonSerializable(typeof(EmptyRequest))]
internal sealed partial class JSJsonContext : JsonSerializerContext;
