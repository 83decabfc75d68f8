namespace Kraud.Systemd.DBus;

/// <summary>One loaded unit as ListUnitsByPatterns returns it: enough to find units to adopt; read the full
/// <see cref="UnitState"/> of the ones that matter.</summary>
public sealed record UnitListing(
    string Name,
    string Description,
    UnitLoadState LoadState,
    UnitActiveState ActiveState,
    string SubState,
    string ObjectPath);
