using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.DBus.Protocol;

namespace Kraud.Systemd.DBus;

/// <summary>
/// A client of systemd's manager (org.freedesktop.systemd1) over D-Bus: start, stop and restart units and wait
/// for their jobs, read and follow a unit's state, list units by pattern, reload unit files. It models systemd's
/// objects only. One connection; when it is lost (dbus-daemon or systemd re-executed) calls and watches fail with
/// <see cref="SystemdException"/> and the caller connects again.
/// </summary>
public sealed partial class SystemdManager : IAsyncDisposable, IDisposable
{
    internal const string Service = "org.freedesktop.systemd1";
    internal const string ObjectPath = "/org/freedesktop/systemd1";
    internal const string Interface = "org.freedesktop.systemd1.Manager";

    private readonly DBusConnection _connection;
    private readonly JobTracker _jobs = new();
    private readonly ILogger _log;

    private SystemdManager(DBusConnection connection, string address, ILogger log)
    {
        _connection = connection;
        Address = address;
        _log = log;
    }

    /// <summary>The D-Bus address this manager is connected to.</summary>
    public string Address { get; }

    /// <summary>Connects to the first address of <see cref="SystemdAddresses.Candidates"/> where systemd answers
    /// (the system bus, else systemd's private socket), each tried for at most <paramref name="attemptLimit"/>
    /// (default 10 s: a socket-activated dbus-daemon that cannot start would otherwise hold the connect).</summary>
    public static async Task<SystemdManager> ConnectAsync(ILogger? logger = null, TimeSpan? attemptLimit = null, CancellationToken ct = default)
    {
        logger ??= NullLogger.Instance;
        var candidates = SystemdAddresses.Candidates();
        if (candidates.Count == 0)
            throw new SystemdException($"systemd is not reachable: neither {SystemdAddresses.SystemBusSocket} nor " +
                $"{SystemdAddresses.PrivateSocket} exists (is systemd PID 1?)");
        var failures = new List<string>();
        foreach (var address in candidates)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(attemptLimit ?? TimeSpan.FromSeconds(10));
            try { return await ConnectAsync(address, logger, attempt.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is SystemdException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                logger.LogDebug("systemd did not answer at {Address}: {Reason}", address, e.Message);
                failures.Add($"{address}: {(e is OperationCanceledException ? "no answer in time" : e.Message)}");
            }
        }
        throw new SystemdException("systemd is not reachable: " + string.Join("; ", failures));
    }

    /// <summary>Connects to systemd at one D-Bus address (<see cref="SystemdAddresses.SystemBus"/>,
    /// <see cref="SystemdAddresses.Private"/>).</summary>
    public static async Task<SystemdManager> ConnectAsync(string address, ILogger? logger = null, CancellationToken ct = default)
    {
        var connection = new DBusConnection(new SocketSetup(address));
        var manager = new SystemdManager(connection, address, logger ?? NullLogger.Instance);
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(ct).ConfigureAwait(false);
            await manager._jobs.SubscribeAsync(connection).WaitAsync(ct).ConfigureAwait(false);
            // On the bus systemd sends unit and job signals only while a client is subscribed (on the private
            // socket always, and Subscribe is a no-op there). It also proves that systemd answers at this address.
            await manager.CallAsync("Subscribe", manager.ManagerCall("Subscribe"), ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            manager.Dispose();
            if (e is DBusExceptionBase or IOException or System.Net.Sockets.SocketException)
                throw new SystemdException($"cannot talk to systemd at {address}: {e.Message}", (e as DBusErrorReplyException)?.ErrorName, e);
            throw;
        }
        manager._log.LogDebug("connected to systemd at {Address}", address);
        return manager;
    }

    /// <summary>Starts the unit (job mode "replace") and waits for its job to end. Cancelling stops the wait,
    /// not the job: systemd carries it out either way, as it would for a systemctl that was interrupted.</summary>
    public Task<JobOutcome> StartUnitAsync(string unit, CancellationToken ct = default) => RunJobAsync("StartUnit", "start", unit, ct);

    /// <summary>Stops the unit and waits for its job to end (Done also when it was not running).</summary>
    public Task<JobOutcome> StopUnitAsync(string unit, CancellationToken ct = default) => RunJobAsync("StopUnit", "stop", unit, ct);

    /// <summary>Restarts the unit (starts it if it was not running) and waits for its job to end.</summary>
    public Task<JobOutcome> RestartUnitAsync(string unit, CancellationToken ct = default) => RunJobAsync("RestartUnit", "restart", unit, ct);

    /// <summary>Forgets a failed unit's failure, as `systemctl reset-failed UNIT`.</summary>
    public Task ResetFailedUnitAsync(string unit, CancellationToken ct = default) =>
        CallAsync($"ResetFailedUnit {unit}", ManagerCall("ResetFailedUnit", unit), ct);

    /// <summary>Reloads all unit files (`systemctl daemon-reload`); returns once systemd has finished.</summary>
    public Task ReloadAsync(CancellationToken ct = default) => CallAsync("Reload", ManagerCall("Reload"), ct);

    /// <summary>The unit's state now. A unit without a unit file reads as <see cref="UnitLoadState.NotFound"/>,
    /// inactive.</summary>
    public async Task<UnitState> GetUnitStateAsync(string unit, CancellationToken ct = default)
    {
        var builder = new UnitStateBuilder(unit);
        foreach (var iface in InterfacesOf(unit))
            builder.Apply(await CallAsync($"GetAll {iface} of {unit}", GetAllCall(unit, iface), ReadGetAll, iface, ct).ConfigureAwait(false));
        return builder.ToState();
    }

    /// <summary>The loaded units whose names match any of the shell-style patterns (e.g. `kraud-vm@*.service`),
    /// in any state (`ListUnitsByPatterns`); units that are neither loaded nor running are not listed.</summary>
    public Task<IReadOnlyList<UnitListing>> ListUnitsByPatternsAsync(IReadOnlyList<string> patterns, CancellationToken ct = default)
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, ObjectPath, Interface, "ListUnitsByPatterns", "asas");
        writer.WriteArray(Array.Empty<string>()); // states: all
        writer.WriteArray(patterns.ToArray());
        return CallAsync($"ListUnitsByPatterns {string.Join(' ', patterns)}", writer.CreateMessage(), ReadUnitList, null, ct);
    }

    public void Dispose()
    {
        _jobs.Dispose();
        _connection.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<JobOutcome> RunJobAsync(string method, string verb, string unit, CancellationToken ct)
    {
        // The reader runs on the receive loop as the reply arrives: the job is registered before its JobRemoved.
        var (job, ended) = await CallAsync($"{method} {unit}", ManagerCall(method, unit, "replace"),
            static (m, tracker) => ExpectJob(m, (JobTracker)tracker!), _jobs, ct).ConfigureAwait(false);
        _log.LogDebug("{Verb} of {Unit} queued as {Job}", verb, unit, job);
        var (_, result) = await ended.WaitAsync(ct).ConfigureAwait(false);
        var outcome = new JobOutcome(unit, job, verb, JobOutcome.Parse(result), result);
        _log.LogDebug("{Outcome}", outcome);
        return outcome;
    }

    private static (string Job, Task<(string Unit, string Result)> Ended) ExpectJob(Message reply, JobTracker tracker)
    {
        string job = reply.GetBodyReader().ReadObjectPathAsString();
        return (job, tracker.Expect(job));
    }

    private static IEnumerable<string> InterfacesOf(string unit) =>
        // The type's interface first and Unit last, the order systemd sends its PropertiesChanged signals in.
        unit.EndsWith(".service", StringComparison.Ordinal)
            ? [UnitProperties.ServiceInterface, UnitProperties.UnitInterface]
            : [UnitProperties.UnitInterface];

    private MessageBuffer GetAllCall(string unit, string iface)
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, UnitName.ObjectPath(unit), "org.freedesktop.DBus.Properties", "GetAll", "s");
        writer.WriteString(iface);
        return writer.CreateMessage();
    }

    private static UnitProperties ReadGetAll(Message reply, object? iface)
    {
        var reader = reply.GetBodyReader();
        return UnitProperties.ReadDictionary(ref reader, (string)iface!);
    }

    private static IReadOnlyList<UnitListing> ReadUnitList(Message reply, object? _)
    {
        var reader = reply.GetBodyReader(); // a(ssssssouso): name, description, load, active, sub, following, path, job id, job type, job path
        var units = new List<UnitListing>();
        ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
        while (reader.HasNext(end))
        {
            string name = reader.ReadString(), description = reader.ReadString();
            string load = reader.ReadString(), active = reader.ReadString(), sub = reader.ReadString();
            reader.ReadString();
            string path = reader.ReadObjectPathAsString();
            reader.ReadUInt32();
            reader.ReadString();
            reader.ReadObjectPathAsString();
            units.Add(new UnitListing(name, description, UnitState.ParseLoad(load), UnitState.ParseActive(active), sub, path));
        }
        return units;
    }

    /// <summary>A call of a manager method that takes no argument, a unit name, or a unit name and a job mode.</summary>
    private MessageBuffer ManagerCall(string method, string? unit = null, string? mode = null)
    {
        using var writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, ObjectPath, Interface, method, unit is null ? null : mode is null ? "s" : "ss");
        if (unit is not null) writer.WriteString(unit);
        if (mode is not null) writer.WriteString(mode);
        return writer.CreateMessage();
    }

    private async Task CallAsync(string what, MessageBuffer message, CancellationToken ct)
    {
        try { await _connection.CallMethodAsync(message).WaitAsync(ct).ConfigureAwait(false); }
        catch (DBusExceptionBase e) { throw Failure(what, e); }
    }

    private async Task<T> CallAsync<T>(string what, MessageBuffer message, MessageValueReader<T> reader, object? state, CancellationToken ct)
    {
        try { return await _connection.CallMethodAsync(message, reader, state).WaitAsync(ct).ConfigureAwait(false); }
        catch (DBusExceptionBase e) { throw Failure(what, e); }
    }

    private static SystemdException Failure(string what, DBusExceptionBase e) => e is DBusErrorReplyException reply
        ? new SystemdException($"{what}: {reply.ErrorMessage}", reply.ErrorName, e)
        : new SystemdException($"{what}: {e.Message}", null, e);
}
