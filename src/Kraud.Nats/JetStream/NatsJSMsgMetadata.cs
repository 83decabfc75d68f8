using System.Globalization;

namespace Kraud.Nats.JetStream;

/// <summary>Stream and consumer sequence of a delivered message.</summary>
public readonly record struct NatsJSSequencePair(ulong Stream, ulong Consumer);

/// <summary>Delivery metadata parsed from the ack subject ($JS.ACK...).</summary>
public readonly record struct NatsJSMsgMetadata(
    NatsJSSequencePair Sequence,
    ulong NumDelivered,
    ulong NumPending,
    DateTimeOffset Timestamp,
    string Stream,
    string Consumer,
    string Domain)
{
    /// <summary>
    /// Parses "$JS.ACK.&lt;stream&gt;.&lt;consumer&gt;.&lt;delivered&gt;.&lt;sseq&gt;.&lt;cseq&gt;.&lt;ts&gt;.&lt;pending&gt;" (9 tokens, what 2.9.10 sends)
    /// or the 11+ token form with domain and account hash; null when it is not an ack subject.
    /// </summary>
    public static NatsJSMsgMetadata? Parse(string? replyTo)
    {
        if (replyTo is null || !replyTo.StartsWith("$JS.ACK.", StringComparison.Ordinal)) return null;
        var t = replyTo.Split('.');
        int s;
        var domain = "";
        if (t.Length == 9) s = 2;
        else if (t.Length >= 11)
        {
            domain = t[2] == "_" ? "" : t[2];
            s = 4;
        }
        else return null;
        if (!ulong.TryParse(t[s + 2], NumberStyles.None, CultureInfo.InvariantCulture, out var delivered)
            || !ulong.TryParse(t[s + 3], NumberStyles.None, CultureInfo.InvariantCulture, out var sseq)
            || !ulong.TryParse(t[s + 4], NumberStyles.None, CultureInfo.InvariantCulture, out var cseq)
            || !long.TryParse(t[s + 5], NumberStyles.None, CultureInfo.InvariantCulture, out var ts)
            || !ulong.TryParse(t[s + 6], NumberStyles.None, CultureInfo.InvariantCulture, out var pending))
            return null;
        var time = DateTimeOffset.UnixEpoch.AddTicks(ts / 100);
        return new NatsJSMsgMetadata(new NatsJSSequencePair(sseq, cseq), delivered, pending, time, t[s], t[s + 1], domain);
    }
}
