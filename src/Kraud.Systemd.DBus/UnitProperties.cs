using Tmds.DBus.Protocol;

namespace Kraud.Systemd.DBus;

/// <summary>The modelled properties one message carried (a GetAll reply or a PropertiesChanged signal), read
/// while the message is at hand; null where the message said nothing of a property.</summary>
internal sealed class UnitProperties
{
    public const string UnitInterface = "org.freedesktop.systemd1.Unit";
    public const string ServiceInterface = "org.freedesktop.systemd1.Service";

    public string Interface = "";
    public string? LoadState, ActiveState, SubState, Result;
    public ulong? ActiveEnterTimestamp;
    public uint? MainPid, NRestarts;
    public int? ExecMainCode, ExecMainStatus;
    /// <summary>A modelled property was invalidated without its value (PropertiesChanged's third argument):
    /// the state is only right after a fresh GetAll.</summary>
    public bool NeedsReread;
    /// <summary>From a GetAll reply: every property of the interface, not only the changed ones.</summary>
    public bool IsSnapshot;

    /// <summary>Reads an a{sv} of <paramref name="iface"/>, keeping the properties modelled in <see cref="UnitState"/>.</summary>
    public static UnitProperties ReadDictionary(ref Reader reader, string iface)
    {
        var p = new UnitProperties { Interface = iface };
        ArrayEnd end = reader.ReadDictionaryStart();
        while (reader.HasNext(end))
        {
            string key = reader.ReadString();
            // A typed read of the properties we keep; everything else is read as a variant only to skip it.
            VariantValue v = reader.ReadVariantValue();
            switch (key)
            {
                case "LoadState": p.LoadState = v.GetString(); break;
                case "ActiveState": p.ActiveState = v.GetString(); break;
                case "SubState": p.SubState = v.GetString(); break;
                case "ActiveEnterTimestamp": p.ActiveEnterTimestamp = v.GetUInt64(); break;
                case "MainPID": p.MainPid = v.GetUInt32(); break;
                case "ExecMainCode": p.ExecMainCode = v.GetInt32(); break;
                case "ExecMainStatus": p.ExecMainStatus = v.GetInt32(); break;
                case "NRestarts": p.NRestarts = v.GetUInt32(); break;
                case "Result": p.Result = v.GetString(); break;
            }
        }
        return p;
    }

    /// <summary>Reads a PropertiesChanged body: (s interface, a{sv} changed, as invalidated).</summary>
    public static UnitProperties ReadPropertiesChanged(Message message)
    {
        var reader = message.GetBodyReader();
        string iface = reader.ReadString();
        var p = ReadDictionary(ref reader, iface);
        foreach (var name in reader.ReadArrayOfString())
            p.NeedsReread |= name is "LoadState" or "ActiveState" or "SubState" or "ActiveEnterTimestamp" or "MainPID"
                or "ExecMainCode" or "ExecMainStatus" or "NRestarts" or "Result";
        return p;
    }
}

/// <summary>A unit's state put together from GetAll replies and PropertiesChanged signals, in the order they
/// arrived.</summary>
internal sealed class UnitStateBuilder(string name)
{
    private string _load = "", _active = "", _sub = "", _result = "";
    private ulong _activeEnter;
    private uint _mainPid, _restarts;
    private int _exitCode, _exitStatus;

    public void Apply(UnitProperties p)
    {
        _load = p.LoadState ?? _load;
        _active = p.ActiveState ?? _active;
        _sub = p.SubState ?? _sub;
        _result = p.Result ?? _result;
        _activeEnter = p.ActiveEnterTimestamp ?? _activeEnter;
        _mainPid = p.MainPid ?? _mainPid;
        _restarts = p.NRestarts ?? _restarts;
        _exitCode = p.ExecMainCode ?? _exitCode;
        _exitStatus = p.ExecMainStatus ?? _exitStatus;
    }

    public UnitState ToState() => new(
        name,
        UnitState.ParseLoad(_load),
        UnitState.ParseActive(_active),
        _sub,
        // systemd's timestamps are CLOCK_REALTIME microseconds; 0 means "never".
        _activeEnter == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks((long)_activeEnter * 10),
        (int)_mainPid,
        (MainProcessExit)_exitCode,
        _exitStatus,
        _restarts,
        _result);
}
