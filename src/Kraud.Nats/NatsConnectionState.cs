namespace Kraud.Nats;

/// <summary>Where the connection stands; see <see cref="NatsConnection.ConnectionStateChanged"/>.</summary>
public enum NatsConnectionState
{
    /// <summary>Not connected and not trying (before ConnectAsync, after dispose or giving up).</summary>
    Closed,
    /// <summary>Connected: handshake done, subscriptions in place.</summary>
    Open,
    /// <summary>First connect under way.</summary>
    Connecting,
    /// <summary>Lost the server; trying the server list with back-off.</summary>
    Reconnecting,
}

/// <summary>A state change, with the error that caused a disconnect when there was one.</summary>
public sealed class NatsConnectionStateChangedEventArgs(NatsConnectionState state, string? url, Exception? error) : EventArgs
{
    /// <summary>The new state.</summary>
    public NatsConnectionState State { get; } = state;

    /// <summary>The server concerned (connected to, or lost).</summary>
    public string? Url { get; } = url;

    /// <summary>Why the connection was lost, if it was.</summary>
    public Exception? Error { get; } = error;
}

/// <summary>A -ERR line from the server.</summary>
public sealed class NatsServerErrorEventArgs(string error) : EventArgs
{
    /// <summary>The error text without quotes.</summary>
    public string Error { get; } = error;
}

/// <summary>A message the client dropped because a subscription's buffer was full.</summary>
public sealed class NatsMessageDroppedEventArgs(string subject, int pending) : EventArgs
{
    /// <summary>The dropped message's subject.</summary>
    public string Subject { get; } = subject;

    /// <summary>Messages buffered on that subscription.</summary>
    public int Pending { get; } = pending;
}
