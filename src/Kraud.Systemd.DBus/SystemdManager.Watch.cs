using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace Kraud.Systemd.DBus;

public sealed partial class SystemdManager
{
    /// <summary>
    /// The unit's state now, then each change, from systemd's PropertiesChanged signals (no polling). It runs
    /// until <paramref name="ct"/> is cancelled (the enumeration then ends quietly) or the connection is lost
    /// (<see cref="SystemdException"/>). The unit need not exist or be loaded yet.
    /// </summary>
    /// <remarks>
    /// systemd coalesces the changes of one event-loop iteration into one signal, so a state that lasted less
    /// than that (activating on the way to active) may never be seen; the final state always is. A state is
    /// yielded when it differs from the last one in a modelled field.
    /// </remarks>
    public async IAsyncEnumerable<UnitState> WatchUnitAsync(string unit, [EnumeratorCancellation] CancellationToken ct = default)
    {
        // Signals and GetAll replies go into one queue, written by the D-Bus receive loop in the order the
        // messages arrived: a snapshot then sits after every older signal and before every newer one.
        var queue = Channel.CreateUnbounded<UnitProperties>(new UnboundedChannelOptions { SingleReader = true });
        using var match = await WatchPropertiesAsync(unit, queue.Writer, ct).ConfigureAwait(false);
        var builder = new UnitStateBuilder(unit);
        int snapshotParts = RequestSnapshot(unit, queue.Writer);
        UnitState? last = null;
        var items = queue.Reader.ReadAllAsync(ct).GetAsyncEnumerator(ct);
        try
        {
            while (true)
            {
                try { if (!await items.MoveNextAsync().ConfigureAwait(false)) yield break; }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { yield break; }
                var p = items.Current;
                builder.Apply(p);
                if (p.IsSnapshot) snapshotParts--;
                if (p.NeedsReread && snapshotParts == 0) snapshotParts = RequestSnapshot(unit, queue.Writer);
                // systemd signals the type's interface (Service) first and Unit last: a state is whole after the
                // Unit part, and only once the first snapshot (or a re-read) is in.
                if (snapshotParts > 0 || p.Interface != UnitProperties.UnitInterface) continue;
                var state = builder.ToState();
                if (state == last) continue;
                last = state;
                yield return state;
            }
        }
        finally { await items.DisposeAsync().ConfigureAwait(false); }
    }

    private async Task<IDisposable> WatchPropertiesAsync(string unit, ChannelWriter<UnitProperties> queue, CancellationToken ct)
    {
        var rule = new MatchRule
        {
            Type = MessageType.Signal,
            Sender = Service,
            Path = UnitName.ObjectPath(unit),
            Interface = "org.freedesktop.DBus.Properties",
            Member = "PropertiesChanged",
        };
        try
        {
            return await _connection.AddMatchAsync(rule, static (m, _) => UnitProperties.ReadPropertiesChanged(m),
                (Notification<UnitProperties> n) =>
                {
                    if (n.HasValue) queue.TryWrite(n.Value);
                    else if (n.IsCompletion)
                        queue.TryComplete(new SystemdException($"watching {unit}: the connection to systemd was lost", null, n.CompletionReason));
                },
                synchronizationContext: null, ObserverFlags.EmitOnConnectionClosed | ObserverFlags.EmitOnConnectionFailed, state: null)
                .AsTask().WaitAsync(ct).ConfigureAwait(false);
        }
        catch (DBusExceptionBase e) { throw Failure($"watching {unit}", e); }
    }

    /// <summary>Asks for the unit's properties; the replies' readers put them into the queue as they arrive.
    /// Returns how many parts the snapshot has.</summary>
    private int RequestSnapshot(string unit, ChannelWriter<UnitProperties> queue)
    {
        int parts = 0;
        foreach (var iface in InterfacesOf(unit))
        {
            parts++;
            var call = _connection.CallMethodAsync(GetAllCall(unit, iface), static (m, s) =>
            {
                var (asked, into) = ((string, ChannelWriter<UnitProperties>))s!;
                var p = ReadGetAll(m, asked);
                p.IsSnapshot = true;
                into.TryWrite(p);
                return true;
            }, (iface, queue));
            // A failed read ends the watch with the reason; nothing else waits for these calls.
            _ = call.ContinueWith(static (t, s) =>
            {
                var (manager, name, into) = ((SystemdManager, string, ChannelWriter<UnitProperties>))s!;
                var e = t.Exception!.GetBaseException();
                manager._log.LogDebug("reading {Unit} failed: {Reason}", name, e.Message);
                into.TryComplete(e is DBusExceptionBase d ? Failure($"reading {name}", d) : e);
            }, (this, unit, queue), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        return parts;
    }
}
