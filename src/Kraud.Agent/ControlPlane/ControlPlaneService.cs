using Kraud.Agent.State;
using Kraud.Agent.Config;
using Kraud.Agent.Hosting;
using Kraud.Agent.Host;
using Kraud.Agent.Kinds;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kraud.Agent.ControlPlane;

/// <summary>
/// The daemon's connection to the control plane: connects (retrying in the background, so the agent is READY and
/// says what it waits for), sets up streams and buckets, then runs the dispatcher, the work engine and the
/// heartbeat until SIGTERM, when it drains (contract section 3.4).
/// </summary>
public sealed class ControlPlaneService(
    AgentConfig config, ReconcilerRegistry registry, IReadOnlyList<IHostReport> reports, IReadOnlyList<IResourceInventory> onHost,
    AgentStatus status, ILoggerFactory loggers) : IAgentService, IStatusAmender
{
    private readonly ILogger _logger = loggers.CreateLogger<ControlPlaneService>();
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _stopHeartbeat = new();
    private NatsConnection? _connection;
    private Task? _run;
    private WorkEngine? _engine;
    private HostHeartbeat? _heartbeat;
    private volatile StatusWriter? _statusWriter;
    private Task _heartbeatTask = Task.CompletedTask;
    private volatile bool _serving;
    private readonly RejectedTokens _rejected = new();
    private HeldTokens? _held;
    private NatsJSContext? _js;
    private readonly StreamLayout _layout = new(config);

    public string Name => "work engine";

    public bool IsHealthy => _engine?.IsHealthy ?? true;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _held = HeldTokens.Open(config.StateDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("cannot record held work tokens in {StateDir} ({Error}); after a crash they come back after ack_wait", config.StateDir, e.Message);
        }
        status.Set($"Connecting to NATS {Redaction.Servers(config.Nats.Servers)}");
        _run = Task.Run(RunAsync, CancellationToken.None);
        await Task.CompletedTask;
    }

    /// <summary>A connection with the agent's handlers; it reconnects by itself once it has been open.</summary>
    private NatsConnection NewConnection()
    {
        var connection = new NatsConnection(NatsOptsFactory.Create(config, $"kraud-agent {config.Host}", loggers, retryOnInitialConnect: false));
        connection.ConnectionOpened += (_, e) =>
        {
            _logger.LogInformation("connected to NATS {Url}", Redaction.Urls(e.Message));
            if (_serving) status.Set(ServingStatus());
            return ValueTask.CompletedTask;
        };
        connection.ConnectionDisconnected += (_, e) =>
        {
            _logger.LogWarning("NATS connection lost ({Error}); reconnecting", Redaction.Urls(e.Message));
            status.Set($"Reconnecting to NATS {Redaction.Servers(config.Nats.Servers)}");
            return ValueTask.CompletedTask;
        };
        connection.LameDuckModeActivated += (_, _) =>
        {
            _logger.LogWarning("NATS server entered lame duck mode; moving to another server");
            return ValueTask.CompletedTask;
        };
        return connection;
    }

    /// <summary>
    /// The first connection, tried until a server answers: the agent is READY meanwhile and its STATUS line says what
    /// it waits for and why (contract, differences: a host booting before its NATS must not crash-loop). Each try is
    /// a fresh connection, so the reason of the last failure is the one shown.
    /// </summary>
    private async Task<bool> ConnectFirstAsync()
    {
        for (ulong tries = 1; ; tries++)
        {
            var connection = NewConnection();
            try
            {
                await connection.ConnectAsync().AsTask().WaitAsync(_stopTaking.Token);
                _connection = connection;
                return true;
            }
            catch (OperationCanceledException)
            {
                await connection.DisposeAsync();
                return false;
            }
            catch (Exception e) when (e is NatsException or TimeoutException or IOException)
            {
                await connection.DisposeAsync();
                string reason = Redaction.Urls(e.Message);
                status.Set($"Waiting for NATS JetStream at {Redaction.Servers(config.Nats.Servers)}: {reason}");
                if (tries == 1 || tries % 30 == 0) _logger.LogWarning("NATS not reachable yet ({Error}); trying again", reason);
                if (!await Pause.ForAsync(Backoff.StatusWrite(tries), _stopTaking.Token)) return false;
            }
        }
    }

    private string ServingStatus() => $"Ready: host {config.Host}, serving {string.Join(", ", registry.Kinds.Order())}";

    private async Task RunAsync()
    {
        if (!await ConnectFirstAsync()) return;
        var js = _js = new NatsJSContext(_connection!);
        try
        {
            await HeldTokens.ReleaseDeadAsync(config.StateDir, _connection!, ClearStalePullRequestsAsync, RedispatchAsync, _logger, _stopTaking.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogWarning("could not hand back the tokens of a previous agent ({Error}); they come back after ack_wait", e.Message);
        }
        var setup = new StreamSetup(js, _layout, loggers.CreateLogger<StreamSetup>());
        StreamSetup.Handles handles;
        while (true)
        {
            try
            {
                handles = await setup.EnsureAsync(_stopTaking.Token);
                break;
            }
            catch (OperationCanceledException) when (_stopTaking.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                status.Set($"Waiting for NATS JetStream at {Redaction.Servers(config.Nats.Servers)}: {Redaction.Urls(e.Message)}");
                if (!await Pause.ForAsync(TimeSpan.FromSeconds(2), _stopTaking.Token)) return;
            }
        }

        var statusWriter = new StatusWriter(handles.Status, TimeProvider.System, loggers.CreateLogger<StatusWriter>(),
            _connection!.ServerInfo?.MaxPayload is > 0 and var max ? max : StatusWriter.DefaultMaxPayload);
        _statusWriter = statusWriter;
        var orphans = new OrphanReport(new StreamMessageReader(_connection!, StreamLayout.Desired), [new AppliedSpecsInventory(new AppliedSpecs(config.StateDir), config.Host), .. onHost],
            TimeProvider.System, loggers.CreateLogger<OrphanReport>());
        _heartbeat = new HostHeartbeat(handles.Hosts, config.Host, new HostProbes(), [.. reports, orphans, _rejected], TimeProvider.System, loggers.CreateLogger<HostHeartbeat>());
        _heartbeatTask = _heartbeat.RunAsync(_stopHeartbeat.Token);
        _engine = new WorkEngine(js, handles.Work, registry, statusWriter, config.Host, config.StateDir, config.Concurrency,
            loggers.CreateLogger<WorkEngine>(), _held, _rejected);
        var dispatcher = new Dispatcher(js, handles.Dispatch, loggers.CreateLogger<Dispatcher>());
        _serving = true;
        status.Set(ServingStatus());
        // Start-up's garbage (configuration, connection, stream set-up) is collected once the first pulls and the
        // first heartbeat are out, rather than kept resident until the gen0 budget fills (MemoryTrim).
        MemoryTrim.Request(TimeSpan.FromMilliseconds(500));
        await Task.WhenAll(dispatcher.RunAsync(_stopTaking.Token), _engine.RunAsync(_stopTaking.Token));
    }

    /// <summary>Through the engine's own status writer, so its compare-and-set sees the amend (NotConnected until the buckets are set up).</summary>
    public Task<AmendOutcome> AmendObservedAsync(string kind, string id, long generation, Func<System.Text.Json.Nodes.JsonObject, bool> change, CancellationToken ct) =>
        _statusWriter is { } writer ? writer.AmendObservedAsync(config.Host, kind, id, generation, change, ct) : Task.FromResult(AmendOutcome.NotConnected);

    public Task<AmendOutcome> AmendPhaseAsync(string kind, string id, long generation, string phase, string message,
        Func<System.Text.Json.Nodes.JsonObject, bool> change, CancellationToken ct) =>
        _statusWriter is { } writer ? writer.AmendObservedAsync(config.Host, kind, id, generation, change, ct, (phase, message)) : Task.FromResult(AmendOutcome.NotConnected);

    public async Task StopAsync(CancellationToken deadline)
    {
        _stopTaking.Cancel();
        if (_run is not null) await _run;
        // Our fetch has ended: its pull request goes before the drain hands work back.
        if (_engine is { Running: > 0 })
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await ClearStalePullRequestsAsync(limit.Token);
        }
        if (_heartbeat is not null)
        {
            _heartbeat.Draining = true;
            await _heartbeat.BeatAsync(CancellationToken.None);
        }
        if (_engine is { Running: > 0 } engine)
        {
            status.Set($"Draining: {engine.Running} reconciles running");
            await engine.DrainAsync(deadline);
        }
        _stopHeartbeat.Cancel();
        await _heartbeatTask;
        if (_connection is not null)
        {
            await FlushAsync(_connection);
            await _connection.DisposeAsync();
        }
        _held?.Dispose();
    }

    /// <summary>
    /// Asks for the work consumer's info, which is what makes nats-server 2.9.10 drop the pull requests whose requester
    /// is gone (it counts the waiting ones). A token handed back (-NAK) while such a request is the only one waiting is
    /// taken off the redelivery queue for it, found to have no listener, and not queued again: it came back only after
    /// ack_wait (30 s), one of the eight in every run of the kill -9 test. So before each batch of hand-backs: a dead
    /// predecessor's tokens at start (its last pull request still waits), the drain's at stop (our own has ended).
    /// Failing costs only that delay, so it is logged and otherwise ignored.
    /// </summary>
    private async Task ClearStalePullRequestsAsync(CancellationToken ct)
    {
        try
        {
            await _js!.GetConsumerAsync(StreamLayout.Work, _layout.WorkConsumer, ct);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
            _logger.LogDebug("work consumer info before handing tokens back failed: {Error}", e.Message);
        }
    }

    /// <summary>
    /// A new work token for <paramref name="workSubject"/> (see <see cref="HeldTokens.ReleaseDeadAsync"/>): refused
    /// (10077) while the resource's token is still queued, which is the usual case; stored when a dead agent had acked
    /// it, so the resource is reconciled again and its status written. <c>desiredSeq</c> 0: the latest desired state.
    /// </summary>
    private async Task RedispatchAsync(string workSubject, CancellationToken ct)
    {
        try
        {
            if (!await Dispatcher.TryPublishTokenAsync(_js!, workSubject, 0, msgId: null, ct)) return;
            _logger.LogInformation("{Subject} had no work token left: the agent that held it stopped between its ack and its status; reconciled again",
                WorkEngine.Escape(workSubject));
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            _logger.LogWarning("could not make a new work token for {Subject} ({Error}); its status comes with its next generation",
                WorkEngine.Escape(workSubject), e.Message);
        }
    }

    /// <summary>
    /// The hand-backs (-NAK) of the drain are publishes that may still sit in the client's write buffer when the
    /// connection is closed, and under load one was lost that way (the token came back only after ack_wait). A PING
    /// answered means the server has read everything written before it (one TCP stream), so none is lost to the close.
    /// </summary>
    private async Task FlushAsync(NatsConnection connection)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await connection.PingAsync(limit.Token);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("could not confirm the last hand-backs before closing ({Error}); they come back after ack_wait", e.Message);
        }
    }
}
