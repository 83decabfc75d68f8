using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

/// <summary>JetStream over a <see cref="NatsConnection"/>: streams, consumers, publish with acks, pulls.</summary>
public sealed partial class NatsJSContext
{
    /// <summary>Creates a context on a connection.</summary>
    public NatsJSContext(NatsConnection connection, NatsJSOpts? opts = null)
    {
        Connection = connection;
        Opts = opts ?? NatsJSOpts.Default;
    }

    /// <summary>The connection.</summary>
    public NatsConnection Connection { get; }

    /// <summary>The options.</summary>
    public NatsJSOpts Opts { get; }

    internal string Api(string tail) => $"{Opts.ApiPrefix}.{tail}";

    /// <summary>
    /// One API call: JSON request, JSON response; an error object becomes <see cref="NatsJSApiException"/>,
    /// a 503 status (JetStream not enabled/ready) <see cref="NatsNoRespondersException"/>.
    /// </summary>
    internal async ValueTask<TRes> JSRequestAsync<TReq, TRes>(string subject, TReq? request, JsonTypeInfo<TReq> requestInfo, JsonTypeInfo<TRes> responseInfo, CancellationToken cancellationToken)
        where TReq : class
    {
        var body = request is null ? ReadOnlyMemory<byte>.Empty : JsonSerializer.SerializeToUtf8Bytes(request, requestInfo);
        var reply = await Connection.RequestAsync(subject, body, null, Opts.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (reply.Headers is { Code: > 0 } h) throw new NatsJSException($"JetStream API '{subject}' answered status {h.Code} {h.MessageText}");
        return Parse(reply.Data.Span, responseInfo, subject);
    }

    internal static T Parse<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> info, string subject)
    {
        if (json.IndexOf("\"error\""u8) >= 0)
        {
            var probe = JsonSerializer.Deserialize(json, JSJsonContext.Default.ApiErrorResponse);
            if (probe?.Error is { } e) throw new NatsJSApiException(e);
        }
        return JsonSerializer.Deserialize(json, info) ?? throw new NatsJSException($"empty response from '{subject}'");
    }

    /// <summary>Account info; also the check that JetStream is enabled.</summary>
    public ValueTask<AccountInfo> GetAccountInfoAsync(CancellationToken cancellationToken = default) =>
        JSRequestAsync<EmptyRequest, AccountInfo>(Api("INFO"), null, JSJsonContext.Default.EmptyRequest, JSJsonContext.Default.AccountInfo, cancellationToken);
}
