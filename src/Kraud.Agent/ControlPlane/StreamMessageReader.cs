using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Kraud.Agent.Kinds;
using NATS.Client.Core;

namespace Kraud.Agent.ControlPlane;

/// <summary>One stored message: its stream sequence and payload, or only its size when over the envelope limit.</summary>
public sealed record StreamMessage(ulong Sequence, ReadOnlyMemory<byte> Data, long Size)
{
    /// <summary>For a message over the limit: its first bytes only (enough to read an envelope's generation).</summary>
    public ReadOnlyMemory<byte> Head { get; init; }

    public bool TooLarge => Size > ResourceEnvelope.MaxBytes;
}

/// <summary>
/// Reads single messages of a stream with <c>$JS.API.STREAM.MSG.GET</c> (KRAUD_DESIRED has no allow_direct, so
/// not a direct get). The reply is parsed here rather than by NATS.Net's model so that an envelope over 256 KiB is
/// refused by its size before it is decoded or copied: a 10 MiB envelope costs the connection's pooled read
/// buffer, nothing more.
/// </summary>
public sealed class StreamMessageReader(INatsConnection nats, string stream)
{
    private readonly string _apiSubject = $"$JS.API.STREAM.MSG.GET.{stream}";

    /// <summary>The newest message on <paramref name="subject"/>, or null when there is none.</summary>
    public Task<StreamMessage?> GetLastAsync(string subject, CancellationToken ct) =>
        GetAsync(w => w.WriteString("last_by_subj", subject), ct);

    /// <summary>The message at <paramref name="sequence"/>, or null when it is gone (acked from a work queue, purged).</summary>
    public Task<StreamMessage?> GetAsync(ulong sequence, CancellationToken ct) =>
        GetAsync(w => w.WriteNumber("seq", sequence), ct);

    private async Task<StreamMessage?> GetAsync(Action<Utf8JsonWriter> request, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            request(w);
            w.WriteEndObject();
        }
        var reply = await nats.RequestAsync(_apiSubject, buffer.WrittenMemory, requestSerializer: NatsRawSerializer<ReadOnlyMemory<byte>>.Default,
            replySerializer: StreamMsgGetReply.Parser.Instance, cancellationToken: ct);
        var result = reply.Data ?? throw new NatsException($"{_apiSubject}: empty or unreadable reply");
        if (result.ErrCode == 10037) return null; // no message found
        if (result.Error is not null) throw new NatsException($"{_apiSubject}: {result.Error} (err_code {result.ErrCode})");
        return new StreamMessage(result.Sequence, result.Data, result.Size) { Head = result.Head };
    }

    private sealed class StreamMsgGetReply
    {
        public ulong Sequence;
        public byte[] Data = [];
        public byte[] Head = [];
        public long Size;
        public string? Error;
        public int ErrCode;

        /// <summary>Reads <c>{"message":{"seq":N,"data":"base64",...}}</c> or <c>{"error":{"err_code":N,"description":"..."}}</c>.</summary>
        internal sealed class Parser : INatsDeserialize<StreamMsgGetReply>
        {
            private const int HeadChars = 4096 / 3 * 4;

            public static readonly Parser Instance = new();

            public StreamMsgGetReply? Deserialize(in ReadOnlySequence<byte> buffer)
            {
                var result = new StreamMsgGetReply();
                try
                {
                    var r = new Utf8JsonReader(buffer);
                    if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return null;
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        if (r.ValueTextEquals("message"u8)) { r.Read(); ReadMessage(ref r, result); }
                        else if (r.ValueTextEquals("error"u8)) { r.Read(); ReadError(ref r, result); }
                        else { r.Read(); r.Skip(); }
                    }
                }
                catch (JsonException)
                {
                    return null;
                }
                return result;
            }

            private static void ReadMessage(ref Utf8JsonReader r, StreamMsgGetReply result)
            {
                if (r.TokenType != JsonTokenType.StartObject) { r.Skip(); return; }
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    if (r.ValueTextEquals("seq"u8)) { r.Read(); result.Sequence = r.GetUInt64(); }
                    else if (r.ValueTextEquals("data"u8))
                    {
                        r.Read();
                        long encoded = r.HasValueSequence ? r.ValueSequence.Length : r.ValueSpan.Length;
                        // Base64 without escapes (the server writes none): 4 characters per 3 bytes, padding aside.
                        result.Size = encoded / 4 * 3;
                        if (result.Size > ResourceEnvelope.MaxBytes)
                        {
                            // Decode only the first 4 KiB: the generation for the Failed status, nothing more.
                            byte[] first = r.HasValueSequence ? r.ValueSequence.Slice(0, HeadChars).ToArray() : r.ValueSpan[..HeadChars].ToArray();
                            var head = new byte[Base64.GetMaxDecodedFromUtf8Length(first.Length)];
                            Base64.DecodeFromUtf8(first, head, out _, out int headBytes, isFinalBlock: false);
                            result.Head = head.AsSpan(0, headBytes).ToArray();
                            continue;
                        }
                        byte[] text = r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan.ToArray();
                        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
                        if (Base64.DecodeFromUtf8(text, decoded, out _, out int written) != OperationStatus.Done)
                            throw new JsonException("data is not base64");
                        result.Data = decoded.AsSpan(0, written).ToArray();
                        result.Size = written;
                    }
                    else { r.Read(); r.Skip(); }
                }
            }

            private static void ReadError(ref Utf8JsonReader r, StreamMsgGetReply result)
            {
                if (r.TokenType != JsonTokenType.StartObject) { r.Skip(); return; }
                result.Error = "error";
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    if (r.ValueTextEquals("err_code"u8)) { r.Read(); result.ErrCode = r.GetInt32(); }
                    else if (r.ValueTextEquals("description"u8)) { r.Read(); result.Error = r.GetString(); }
                    else { r.Read(); r.Skip(); }
                }
            }
        }
    }
}
