namespace Kraud.Systemd.DBus;

/// <summary>systemd refused a call (<see cref="ErrorName"/> is the D-Bus error, e.g.
/// org.freedesktop.systemd1.NoSuchUnit), or the connection to it was lost (<see cref="ErrorName"/> is null).
/// Callers see this type only, never the D-Bus library's.</summary>
public sealed class SystemdException : Exception
{
    public SystemdException(string message, string? errorName = null, Exception? inner = null) : base(message, inner)
        => ErrorName = errorName;

    /// <summary>The D-Bus error name of a refused call; null when the connection failed or was lost.</summary>
    public string? ErrorName { get; }

    /// <summary>systemd has no unit of that name loaded (GetUnit) or cannot find its file (StartUnit).</summary>
    public bool IsNoSuchUnit => ErrorName is "org.freedesktop.systemd1.NoSuchUnit" or "org.freedesktop.systemd1.LoadFailed";
}
