namespace Kraud.Systemd.DBus;

/// <summary>Where systemd's manager answers on D-Bus, and the order <see cref="SystemdManager.ConnectAsync(Microsoft.Extensions.Logging.ILogger?, CancellationToken)"/>
/// tries them.</summary>
/// <remarks>
/// The system bus comes first: it is systemd's public interface, while systemd(1) calls /run/systemd/private
/// "private to systemd and should not be used in external projects" (it is systemctl's own channel). The private
/// socket is the fallback because it speaks the same objects without a dbus-daemon: hosts without the dbus
/// package, early boot, a bus that does not answer. Both need root (the private socket is mode 0700; on the bus,
/// systemd checks the caller's uid for StartUnit and friends). The lane's systemd boot has both: dbus.socket
/// listens (socket activation: the first connection starts dbus-daemon, 1.6 s under TCG) and the private socket.
/// </remarks>
public static class SystemdAddresses
{
    public const string SystemBusSocket = "/run/dbus/system_bus_socket";
    public const string PrivateSocket = "/run/systemd/private";
    public const string SystemBus = "unix:path=" + SystemBusSocket;
    public const string Private = "unix:path=" + PrivateSocket;

    /// <summary>The addresses worth trying on this host, best first: DBUS_SYSTEM_BUS_ADDRESS or the system bus
    /// socket when it exists, then the private socket when it exists.</summary>
    public static IReadOnlyList<string> Candidates()
    {
        var found = new List<string>(2);
        var fromEnvironment = Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS");
        if (!string.IsNullOrEmpty(fromEnvironment)) found.Add(fromEnvironment);
        else if (File.Exists(SystemBusSocket)) found.Add(SystemBus);
        if (File.Exists(PrivateSocket)) found.Add(Private);
        return found;
    }
}
