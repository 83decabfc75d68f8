using Tmds.DBus.Protocol;

namespace Kraud.Systemd.DBus;

/// <summary>
/// Turns systemd's JobRemoved signals into the outcome of the job a call queued. One match per connection, made
/// before the first job: a job can finish right after the reply that named it, and a match made per call would
/// race that.
/// </summary>
/// <remarks>
/// The D-Bus library runs reply readers and signal handlers inline, in the order messages arrive, and systemd
/// sends a job's reply before its JobRemoved. So <see cref="Expect"/>, called from the reply's reader, registers
/// the job before its JobRemoved can be handled: no signal is ever missed and none has to be remembered.
/// </remarks>
internal sealed class JobTracker
{
    private readonly Lock _gate = new();
    // Job path -> its ending. Two callers can share one job: systemd merges a start into a start already queued
    // for the unit and returns that job's path to both.
    private readonly Dictionary<string, TaskCompletionSource<(string Unit, string Result)>> _waiting = new();
    private SystemdException? _lost;
    private IDisposable? _match;

    public async Task SubscribeAsync(DBusConnection connection)
    {
        var rule = new MatchRule
        {
            Type = MessageType.Signal,
            Sender = SystemdManager.Service,
            Path = SystemdManager.ObjectPath,
            Interface = SystemdManager.Interface,
            Member = "JobRemoved",
        };
        _match = await connection.AddMatchAsync(rule, static (message, _) => ReadJobRemoved(message), OnNotification,
            synchronizationContext: null, ObserverFlags.EmitOnConnectionClosed | ObserverFlags.EmitOnConnectionFailed, state: null)
            .ConfigureAwait(false);
    }

    /// <summary>The ending of <paramref name="job"/>; to be called from the reader of the reply that named it.</summary>
    public Task<(string Unit, string Result)> Expect(string job)
    {
        lock (_gate)
        {
            if (_lost is not null) return Task.FromException<(string, string)>(_lost);
            if (!_waiting.TryGetValue(job, out var done))
            {
                // Continuations run off the receive loop: a caller's code never holds up systemd's messages.
                done = new(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting.Add(job, done);
            }
            return done.Task;
        }
    }

    public void Dispose() => _match?.Dispose();

    private static (string Job, string Unit, string Result) ReadJobRemoved(Message message)
    {
        var reader = message.GetBodyReader(); // (u id, o job, s unit, s result)
        reader.ReadUInt32();
        return (reader.ReadObjectPathAsString(), reader.ReadString(), reader.ReadString());
    }

    private void OnNotification(Notification<(string Job, string Unit, string Result)> n)
    {
        if (n.HasValue)
        {
            TaskCompletionSource<(string, string)>? done;
            lock (_gate) _waiting.Remove(n.Value.Job, out done);
            done?.TrySetResult((n.Value.Unit, n.Value.Result));
            return;
        }
        if (!n.IsCompletion) return;
        // The connection closed or failed: no JobRemoved will come for the jobs still waited for.
        List<TaskCompletionSource<(string, string)>> orphans;
        lock (_gate)
        {
            _lost ??= new SystemdException("the connection to systemd was lost while waiting for a job", null, n.CompletionReason);
            orphans = [.. _waiting.Values];
            _waiting.Clear();
        }
        foreach (var done in orphans) done.TrySetException(_lost);
    }
}
