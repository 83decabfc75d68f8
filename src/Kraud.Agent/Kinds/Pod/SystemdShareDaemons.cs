using System.Collections.Concurrent;
using System.Text;
using Kraud.Systemd.DBus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// Each share's virtiofsd as a systemd unit (systemd/kraud-virtiofsd@.service), for the systemd VM backend: as the
/// agent's child a daemon would sit in the agent's cgroup and die with an agent restart while its VM runs on. The
/// instance is the escaped path of the share's environment file &lt;podDir&gt;/&lt;tag&gt;.env (SOCKET, SOURCE), and
/// a runtime drop-in binds the unit to its VM's: `PartOf=kraud-vm@&lt;id&gt;.service` (stopping the VM's unit stops
/// the daemon) and `Before=` (the daemon is up before the VMM connects, and stops after it). The daemons are
/// started over D-Bus before the VM (<see cref="SystemdVmSupervisor"/> never sends a stop job to a VM unit that is
/// down, which would propagate to them) and kept by the unit's Restart=always: virtiofsd exits when its VM
/// disconnects, so after a VM exit the daemon is back for the VM's restart. A read-only share is served from a
/// read-only bind mount at &lt;podDir&gt;/ro-&lt;tag&gt; made by the agent (it has no mount namespace of its own,
/// so the daemon's unit sees it), as in <see cref="ChildProcessShareDaemons"/>.
/// </summary>
public sealed class SystemdShareDaemons(SystemdVmSupervisor vms, string virtiofsdPath, ILogger? logger = null, string dropInDir = SystemdShareDaemons.RuntimeUnitDir) : IShareDaemons
{
    public const string Template = "kraud-virtiofsd@.service";
    /// <summary>Runtime unit directory: drop-ins there go at reboot, as the VMs' run directories do.</summary>
    public const string RuntimeUnitDir = "/run/systemd/system";
    private const string DropInName = "kraud-vm.conf";
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, int>> _pids = new(StringComparer.Ordinal);

    /// <summary>How long a daemon may take to put its socket in place.</summary>
    public TimeSpan SocketTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The unit serving the share whose environment file is <paramref name="envFile"/> (as `systemd-escape --path --template`).</summary>
    public static string UnitOf(string envFile) => UnitName.ForInstance(Template, envFile.Trim('/'));

    public static string EnvFileOf(string podDir, string tag) => Path.Combine(podDir, tag + ".env");

    public async Task StartAsync(string id, string podDir, IReadOnlyList<PodShare> shares, CancellationToken ct)
    {
        await StopAsync(id, podDir, ct).ConfigureAwait(false);
        if (shares.Count == 0) return;
        if (!File.Exists(virtiofsdPath)) throw new TransientReconcileException($"pod {id} has shares, and {virtiofsdPath} is missing (Debian's qemu-system-common)");
        var units = new List<(PodShare Share, string Unit)>();
        foreach (var share in shares)
        {
            string source = ReadOnlyShareViews.SourceOf(podDir, share);
            File.Delete(share.Socket); // so the socket that appears is the new daemon's
            string envFile = EnvFileOf(podDir, share.Tag);
            File.WriteAllText(envFile, $"SOCKET={Quoted(share.Socket)}\nSOURCE={Quoted(source)}\n");
            File.SetUnixFileMode(envFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            string unit = UnitOf(envFile);
            string dropIn = Path.Combine(dropInDir, unit + ".d");
            Directory.CreateDirectory(dropIn);
            File.WriteAllText(Path.Combine(dropIn, DropInName),
                $"# Written by kraud-agent for pod {id}; removed with it.\n[Unit]\nPartOf={SystemdVmSupervisor.UnitOf(id)}\nBefore={SystemdVmSupervisor.UnitOf(id)}\n\n" +
                $"[Service]\nLogExtraFields=KRAUD_ID={id}\n");
            units.Add((share, unit));
        }
        await vms.WithManagerAsync(async m => { await m.ReloadAsync(ct).ConfigureAwait(false); return true; }, ct).ConfigureAwait(false);
        foreach (var (share, unit) in units)
        {
            var outcome = await vms.WithManagerAsync(m => m.StartUnitAsync(unit, ct), ct).ConfigureAwait(false);
            if (!outcome.Succeeded)
                throw new TransientReconcileException($"share {share.Tag} (volume {share.Volume}): {outcome}");
            _log.LogInformation("pod {Id}: {Unit} started for share {Tag} (volume {Volume}, {Mode})", id, unit, share.Tag, share.Volume,
                share.ReadOnly ? "read-only" : "read-write");
        }
        var until = DateTime.UtcNow + SocketTimeout;
        foreach (var (share, unit) in units)
        {
            while (!File.Exists(share.Socket))
            {
                if (DateTime.UtcNow > until)
                {
                    var state = await vms.WithManagerAsync(m => m.GetUnitStateAsync(unit, ct), ct).ConfigureAwait(false);
                    throw new TransientReconcileException($"share {share.Tag} (volume {share.Volume}): {unit} made no socket within {SocketTimeout.TotalSeconds:0} s ({state}; journalctl -u {unit})");
                }
                await Task.Delay(10, ct).ConfigureAwait(false);
            }
        }
        await RefreshAsync(id, podDir, shares, ct).ConfigureAwait(false);
    }

    /// <summary>Reads the daemons' main pids from their units (after an agent restart, or a daemon's own restart).</summary>
    public async Task RefreshAsync(string id, string podDir, IReadOnlyList<PodShare> shares, CancellationToken ct)
    {
        var pids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var share in shares)
        {
            var s = await vms.WithManagerAsync(m => m.GetUnitStateAsync(UnitOf(EnvFileOf(podDir, share.Tag)), ct), ct).ConfigureAwait(false);
            if (s is { ActiveState: UnitActiveState.Active, MainPid: > 0 }) pids[share.Tag] = s.MainPid;
        }
        _pids[id] = pids;
    }

    public async Task StopAsync(string id, string podDir, CancellationToken ct)
    {
        _pids.TryRemove(id, out _);
        if (!Directory.Exists(podDir)) return;
        foreach (var envFile in Directory.EnumerateFiles(podDir, "fs*.env"))
        {
            string unit = UnitOf(envFile);
            var outcome = await vms.WithManagerAsync(m => m.StopUnitAsync(unit, ct), ct).ConfigureAwait(false);
            if (!outcome.Succeeded) throw new TransientReconcileException($"pod {id}: stopping {unit}: {outcome}");
            try { await vms.WithManagerAsync(async m => { await m.ResetFailedUnitAsync(unit, ct).ConfigureAwait(false); return true; }, ct).ConfigureAwait(false); }
            catch (TransientReconcileException) { } // a unit that is not loaded has no failure to forget
            string dropIn = Path.Combine(dropInDir, unit + ".d");
            if (Directory.Exists(dropIn)) Directory.Delete(dropIn, recursive: true);
            File.Delete(envFile);
        }
        ReadOnlyShareViews.RemoveAll(id, podDir, _log);
    }

    /// <summary>The daemons' main pids as last read from their units (<see cref="RefreshAsync"/>).</summary>
    public IReadOnlyDictionary<string, int> Running(string id) => _pids.TryGetValue(id, out var pids) ? pids : new Dictionary<string, int>();

    /// <summary>A value for an EnvironmentFile= line: double-quoted, with `\` and `"` escaped (a volumePath may hold spaces).</summary>
    private static string Quoted(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in value)
        {
            if (c is '\\' or '"' or '$' or '`') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }
}
