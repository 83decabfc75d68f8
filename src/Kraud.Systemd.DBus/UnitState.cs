namespace Kraud.Systemd.DBus;

/// <summary>A unit's ActiveState: the general state every unit type shares (org.freedesktop.systemd1(5)).</summary>
public enum UnitActiveState { Unknown, Active, Reloading, Inactive, Failed, Activating, Deactivating, Maintenance, Refreshing }

/// <summary>A unit's LoadState: whether its configuration was found and read.</summary>
public enum UnitLoadState { Unknown, Stub, Loaded, NotFound, BadSetting, Error, Merged, Masked }

/// <summary>How a service's main process last ended: the si_code of its SIGCHLD (CLD_EXITED, CLD_KILLED,
/// CLD_DUMPED); <see cref="None"/> while it has not ended.</summary>
public enum MainProcessExit { None = 0, Exited = 1, Killed = 2, Dumped = 3 }

/// <summary>
/// What systemd says of one unit at one moment. The service fields are those of org.freedesktop.systemd1.Service
/// and keep their defaults for other unit types.
/// </summary>
/// <param name="Name">The unit's name.</param>
/// <param name="LoadState">Whether its unit file was found and read (NotFound for a unit that does not exist).</param>
/// <param name="ActiveState">The general state.</param>
/// <param name="SubState">The type's own state: running, exited, dead, auto-restart, start-pre...</param>
/// <param name="ActiveEnterTimestamp">When it last became active; null if never.</param>
/// <param name="MainPid">The service's main process, 0 when none runs.</param>
/// <param name="ExecMainCode">How the main process last ended.</param>
/// <param name="ExecMainStatus">Its exit status (Exited) or signal number (Killed, Dumped).</param>
/// <param name="NRestarts">How often systemd restarted it automatically (Restart=) since it was last started by a job.</param>
/// <param name="Result">The service's result: success, exit-code, signal, core-dump, timeout, start-limit-hit...</param>
public sealed record UnitState(
    string Name,
    UnitLoadState LoadState,
    UnitActiveState ActiveState,
    string SubState,
    DateTimeOffset? ActiveEnterTimestamp,
    int MainPid,
    MainProcessExit ExecMainCode,
    int ExecMainStatus,
    uint NRestarts,
    string Result)
{
    public override string ToString() =>
        $"{Name}: {LoadState}/{ActiveState}/{SubState} pid {MainPid}, last exit {ExecMainCode} {ExecMainStatus}, " +
        $"{NRestarts} restart(s), result {Result}";

    internal static UnitActiveState ParseActive(string s) => s switch
    {
        "active" => UnitActiveState.Active,
        "reloading" => UnitActiveState.Reloading,
        "inactive" => UnitActiveState.Inactive,
        "failed" => UnitActiveState.Failed,
        "activating" => UnitActiveState.Activating,
        "deactivating" => UnitActiveState.Deactivating,
        "maintenance" => UnitActiveState.Maintenance,
        "refreshing" => UnitActiveState.Refreshing,
        _ => UnitActiveState.Unknown,
    };

    internal static UnitLoadState ParseLoad(string s) => s switch
    {
        "stub" => UnitLoadState.Stub,
        "loaded" => UnitLoadState.Loaded,
        "not-found" => UnitLoadState.NotFound,
        "bad-setting" => UnitLoadState.BadSetting,
        "error" => UnitLoadState.Error,
        "merged" => UnitLoadState.Merged,
        "masked" => UnitLoadState.Masked,
        _ => UnitLoadState.Unknown,
    };
}
