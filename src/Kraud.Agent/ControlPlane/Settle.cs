using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// The acknowledgements of a work token as the contract needs them on nats-server 2.9.10: +ACK and +WPI confirmed
/// by the server (double ack, off by default in NATS.Net), +TERM without a reason (2.9.10 ignores
/// <c>+TERM reason</c> and redelivers), -NAK with a delay.
/// </summary>
public static class Settle
{
    public static readonly AckOpts Confirmed = new() { DoubleAck = true };
    public static readonly AckOpts Progress = Confirmed;
    public static readonly AckOpts Terminate = new() { DoubleAck = false };

    public static AckOpts NakAfter(TimeSpan delay) => new() { NakDelay = delay, DoubleAck = false };

    /// <summary>Sends a confirmed ack verb; false when the server did not confirm it within <paramref name="timeout"/>.</summary>
    public static async Task<bool> TryConfirmedAsync<T>(INatsJSMsg<T> msg, AckOpts opts, TimeSpan timeout, CancellationToken ct, bool ack = false)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            if (ack) await msg.AckAsync(opts, cts.Token);
            else await msg.AckProgressAsync(opts, cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (NatsException)
        {
            return false;
        }
    }
}
