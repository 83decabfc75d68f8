using System.Globalization;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

public sealed partial class NatsJSContext
{
    /// <summary>
    /// Publishes to a stream and waits for its ack. A refusal (e.g. 10077 busy, 10071 wrong last sequence)
    /// throws <see cref="NatsJSApiException"/>; use <see cref="TryPublishAsync"/> to get it as a value.
    /// A duplicate Nats-Msg-Id is a success with <see cref="PubAckResponse.Duplicate"/> set.
    /// </summary>
    public async ValueTask<PubAckResponse> PublishAsync(string subject, ReadOnlyMemory<byte> data, NatsJSPubOpts? opts = null, NatsHeaders? headers = null, CancellationToken cancellationToken = default) =>
        (await TryPublishAsync(subject, data, opts, headers, cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>Publishes and returns the ack, with <see cref="PubAckResponse.Error"/> set when the stream refused it.</summary>
    public async ValueTask<PubAckResponse> TryPublishAsync(string subject, ReadOnlyMemory<byte> data, NatsJSPubOpts? opts = null, NatsHeaders? headers = null, CancellationToken cancellationToken = default)
    {
        opts ??= new NatsJSPubOpts();
        var h = WithPubHeaders(headers, opts);
        var timeout = opts.Timeout ?? Opts.RequestTimeout;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var reply = await Connection.RequestAsync(subject, data, h, timeout, cancellationToken).ConfigureAwait(false);
                if (reply.Headers is { Code: > 0 } status)
                    throw new NatsJSException($"publish to '{subject}' answered status {status.Code} {status.MessageText}");
                return ParseAck(reply.Data.Span, subject);
            }
            catch (NatsNoRespondersException) when (attempt < opts.RetryAttempts)
            {
                await Task.Delay(opts.RetryWaitBetweenAttempts, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static PubAckResponse ParseAck(ReadOnlySpan<byte> json, string subject) =>
        System.Text.Json.JsonSerializer.Deserialize(json, JSJsonContext.Default.PubAckResponse)
        ?? throw new NatsJSException($"empty publish ack for '{subject}'");

    private static NatsHeaders? WithPubHeaders(NatsHeaders? headers, NatsJSPubOpts o)
    {
        if (o.MsgId is null && o.ExpectedStream is null && o.ExpectedLastMsgId is null && o.ExpectedLastSequence is null && o.ExpectedLastSubjectSequence is null)
            return headers;
        var h = new NatsHeaders();
        if (headers is not null)
            foreach (var kv in headers) h.Add(kv.Key, kv.Value);
        if (o.MsgId is not null) h["Nats-Msg-Id"] = o.MsgId;
        if (o.ExpectedStream is not null) h["Nats-Expected-Stream"] = o.ExpectedStream;
        if (o.ExpectedLastMsgId is not null) h["Nats-Expected-Last-Msg-Id"] = o.ExpectedLastMsgId;
        if (o.ExpectedLastSequence is { } ls) h["Nats-Expected-Last-Sequence"] = ls.ToString(CultureInfo.InvariantCulture);
        if (o.ExpectedLastSubjectSequence is { } lss) h["Nats-Expected-Last-Subject-Sequence"] = lss.ToString(CultureInfo.InvariantCulture);
        return h;
    }
}
