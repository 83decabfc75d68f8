using System.Text.Json;
using Kraud.Nats.Internal;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream;

public sealed partial class NatsJSContext
{
    private static JSJsonContext J => JSJsonContext.Default;

    /// <summary>Creates a stream; an identical existing one is returned, a different one gives 10058.</summary>
    public async ValueTask<NatsJSStream> CreateStreamAsync(StreamConfig config, CancellationToken cancellationToken = default)
    {
        var info = await JSRequestAsync(Api($"STREAM.CREATE.{config.Name}"), config, J.StreamConfig, J.StreamInfo, cancellationToken).ConfigureAwait(false);
        return new NatsJSStream(this, info);
    }

    /// <summary>Updates a stream's config (storage, retention and a few more cannot change).</summary>
    public async ValueTask<NatsJSStream> UpdateStreamAsync(StreamConfig config, CancellationToken cancellationToken = default)
    {
        var info = await JSRequestAsync(Api($"STREAM.UPDATE.{config.Name}"), config, J.StreamConfig, J.StreamInfo, cancellationToken).ConfigureAwait(false);
        return new NatsJSStream(this, info);
    }

    /// <summary>Creates the stream, or updates it when it exists with another config.</summary>
    public async ValueTask<NatsJSStream> CreateOrUpdateStreamAsync(StreamConfig config, CancellationToken cancellationToken = default)
    {
        try
        {
            return await CreateStreamAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.ErrCode == 10058)
        {
            return await UpdateStreamAsync(config, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gets a stream (10059 <see cref="NatsJSApiException"/> when absent).</summary>
    public async ValueTask<NatsJSStream> GetStreamAsync(string name, StreamInfoRequest? request = null, CancellationToken cancellationToken = default)
    {
        var info = await JSRequestAsync(Api($"STREAM.INFO.{name}"), request, J.StreamInfoRequest, J.StreamInfo, cancellationToken).ConfigureAwait(false);
        return new NatsJSStream(this, info);
    }

    /// <summary>Deletes a stream.</summary>
    public async ValueTask<bool> DeleteStreamAsync(string name, CancellationToken cancellationToken = default)
    {
        var r = await JSRequestAsync<EmptyRequest, SuccessResponse>(Api($"STREAM.DELETE.{name}"), null, J.EmptyRequest, J.SuccessResponse, cancellationToken).ConfigureAwait(false);
        return r.Success;
    }

    /// <summary>Purges a stream, or one subject of it with <see cref="StreamPurgeRequest.Filter"/>; returns the count removed.</summary>
    public async ValueTask<ulong> PurgeStreamAsync(string name, StreamPurgeRequest? request = null, CancellationToken cancellationToken = default)
    {
        var r = await JSRequestAsync(Api($"STREAM.PURGE.{name}"), request, J.StreamPurgeRequest, J.StreamPurgeResponse, cancellationToken).ConfigureAwait(false);
        return r.Purged;
    }

    /// <summary>Deletes one message by sequence.</summary>
    public async ValueTask<bool> DeleteMessageAsync(string stream, ulong sequence, bool erase = false, CancellationToken cancellationToken = default)
    {
        var r = await JSRequestAsync(Api($"STREAM.MSG.DELETE.{stream}"), new StreamMsgDeleteRequest { Seq = sequence, NoErase = erase ? null : true }, J.StreamMsgDeleteRequest, J.SuccessResponse, cancellationToken).ConfigureAwait(false);
        return r.Success;
    }

    /// <summary>Gets a stored message (STREAM.MSG.GET); 10037 <see cref="NatsJSApiException"/> when there is none.</summary>
    public async ValueTask<NatsJSStoredMsg> GetMsgAsync(string stream, StreamMsgGetRequest request, CancellationToken cancellationToken = default)
    {
        var r = await JSRequestAsync(Api($"STREAM.MSG.GET.{stream}"), request, J.StreamMsgGetRequest, J.StreamMsgGetResponse, cancellationToken).ConfigureAwait(false);
        var m = r.Message ?? throw new NatsJSException($"MSG.GET on {stream} returned no message");
        var headers = m.Hdrs is { Length: > 0 } h ? HeaderParser.Parse(h) : null;
        return new NatsJSStoredMsg(m.Subject, m.Seq, headers, m.Data ?? [], m.Time);
    }

    /// <summary>The last message stored on a subject, or null when there is none.</summary>
    public async ValueTask<NatsJSStoredMsg?> GetLastMsgBySubjectAsync(string stream, string subject, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetMsgAsync(stream, new StreamMsgGetRequest { LastBySubj = subject }, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.ErrCode == 10037)
        {
            return null;
        }
    }
}
