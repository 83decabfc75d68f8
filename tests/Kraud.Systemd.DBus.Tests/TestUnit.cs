namespace Kraud.Systemd.DBus.Tests;

/// <summary>A real unit for one test: its file in /run/systemd/system (the runtime unit directory, gone at
/// power-off), loaded through the manager's Reload, stopped, reset and removed at the end.</summary>
public sealed class TestUnit : IAsyncDisposable
{
    private readonly SystemdManager _systemd;
    private readonly string _file;

    private TestUnit(SystemdManager systemd, string name)
    {
        _systemd = systemd;
        Name = name;
        _file = Path.Combine("/run/systemd/system", name);
    }

    public string Name { get; }

    /// <summary>A unique prefix for the units of one test: kraudtest-&lt;random&gt;-.</summary>
    public static string NewPrefix() => $"kraudtest-{Guid.NewGuid().ToString("N")[..8]}-";

    public static async Task<TestUnit> CreateAsync(SystemdManager systemd, string name, string serviceSection, string unitSection = "")
    {
        var unit = new TestUnit(systemd, name);
        await File.WriteAllTextAsync(unit._file, $"[Unit]\nDescription=kraud test {name}\n{unitSection}\n[Service]\n{serviceSection}\n");
        await systemd.ReloadAsync();
        return unit;
    }

    public async ValueTask DisposeAsync()
    {
        try { await _systemd.StopUnitAsync(Name); } catch (SystemdException) { }
        try { await _systemd.ResetFailedUnitAsync(Name); } catch (SystemdException) { }
        File.Delete(_file);
        await _systemd.ReloadAsync();
    }
}

/// <summary>These tests need systemd as PID 1: the kernel lane booted with systemd.</summary>
public static class SystemdLane
{

    public static void Require()
    {
        var pid1 = File.Exists("/proc/1/comm") ? File.ReadAllText("/proc/1/comm").Trim() : "";
        if (pid1 != "systemd")
            throw new InvalidOperationException(
                $"This test needs systemd as PID 1 (PID 1 here is '{pid1}'). It carries [Trait(\"lane\",\"systemd\")]: run it " +
                "with tests/lane/test-in-lane --systemd --trait lane=systemd tests/Kraud.Systemd.DBus.Tests, or filter it " +
                "out on the host with --filter \"lane!=systemd\".");
    }
}
