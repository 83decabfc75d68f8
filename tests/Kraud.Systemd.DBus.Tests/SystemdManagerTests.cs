namespace Kraud.Systemd.DBus.Tests;

/// <summary>The manager client against a real systemd (PID 1 of the lane's systemd boot), through both of its
/// D-Bus addresses. Units are real unit files in /run/systemd/system; every wait has a time limit.</summary>
[Trait("lane", "systemd")]
public sealed class SystemdManagerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60); // TCG: a unit start takes 0.3-0.6 s
    // Every call of a test carries this: a job systemd never finishes fails the test instead of hanging the lane.
    private readonly CancellationToken _ct = new CancellationTokenSource(TimeSpan.FromSeconds(180)).Token;

    public SystemdManagerTests() => SystemdLane.Require();

    [Fact]
    public async Task Connect_prefers_the_system_bus_and_subscribes()
    {
        await using var systemd = await SystemdManager.ConnectAsync(ct: _ct);
        Assert.Equal(File.Exists(SystemdAddresses.SystemBusSocket) ? SystemdAddresses.SystemBus : SystemdAddresses.Private, systemd.Address);
        var state = await systemd.GetUnitStateAsync("dbus.socket", _ct);
        Assert.Equal(UnitActiveState.Active, state.ActiveState);
    }

    [Fact]
    public async Task Connections_one_after_another_all_come_up()
    {
        // Before PipelinedBeginStream, about one private-socket connect in three made right after a bus connection
        // hung (systemd left the Hello unprocessed): ten rounds of both would all but surely catch it again.
        var open = new List<SystemdManager>();
        try
        {
            for (int round = 0; round < 10; round++)
                foreach (var address in new[] { SystemdAddresses.SystemBus, SystemdAddresses.Private })
                {
                    using var limit = CancellationTokenSource.CreateLinkedTokenSource(_ct);
                    limit.CancelAfter(TimeSpan.FromSeconds(20));
                    try { open.Add(await SystemdManager.ConnectAsync(address, null, limit.Token)); }
                    catch (OperationCanceledException) { Assert.Fail($"round {round}: no connection to {address} within 20 s"); }
                }
            foreach (var systemd in open) Assert.Equal(UnitActiveState.Active, (await systemd.GetUnitStateAsync("dbus.socket", _ct)).ActiveState);
        }
        finally { foreach (var systemd in open) systemd.Dispose(); }
    }

    [Theory]
    [InlineData(SystemdAddresses.SystemBus)]
    [InlineData(SystemdAddresses.Private)]
    public async Task Start_restart_and_stop_a_unit_and_list_it_by_pattern(string address)
    {
        await using var systemd = await SystemdManager.ConnectAsync(address, null, _ct);
        var prefix = TestUnit.NewPrefix();
        await using var unit = await TestUnit.CreateAsync(systemd, prefix + "sleeper.service", "Type=exec\nExecStart=/bin/sleep infinity");
        var before = DateTimeOffset.UtcNow.AddMinutes(-1); // the guest clock and ours are the same clock

        var started = await systemd.StartUnitAsync(unit.Name, _ct);
        Assert.True(started.Succeeded, started.ToString());
        Assert.Equal(JobResult.Done, started.Result);
        Assert.StartsWith("/org/freedesktop/systemd1/job/", started.Job);
        var running = await systemd.GetUnitStateAsync(unit.Name, _ct);
        Assert.Equal((UnitLoadState.Loaded, UnitActiveState.Active, "running"), (running.LoadState, running.ActiveState, running.SubState));
        Assert.True(running.MainPid > 1, running.ToString());
        Assert.Equal("sleep", File.ReadAllText($"/proc/{running.MainPid}/comm").Trim());
        Assert.True(running.ActiveEnterTimestamp > before, running.ToString());

        var listed = await systemd.ListUnitsByPatternsAsync([prefix + "*.service"], _ct);
        var only = Assert.Single(listed);
        Assert.Equal((unit.Name, UnitActiveState.Active, "running"), (only.Name, only.ActiveState, only.SubState));
        Assert.Equal(UnitName.ObjectPath(unit.Name), only.ObjectPath);
        Assert.Empty(await systemd.ListUnitsByPatternsAsync([prefix + "nothing@*.service"], _ct));

        var restarted = await systemd.RestartUnitAsync(unit.Name, _ct);
        Assert.True(restarted.Succeeded, restarted.ToString());
        var again = await systemd.GetUnitStateAsync(unit.Name, _ct);
        Assert.Equal(UnitActiveState.Active, again.ActiveState);
        Assert.NotEqual(running.MainPid, again.MainPid);
        Assert.False(ProcessIsInUnit(running.MainPid, unit.Name), "the old main process still runs in the unit");

        var stopped = await systemd.StopUnitAsync(unit.Name, _ct);
        Assert.Equal(JobResult.Done, stopped.Result);
        var after = await systemd.GetUnitStateAsync(unit.Name, _ct);
        Assert.Equal((UnitActiveState.Inactive, "dead", 0), (after.ActiveState, after.SubState, after.MainPid));
        // SIGTERM on a stop is a clean end for systemd, not a failure.
        Assert.Equal("success", after.Result);
    }

    [Fact]
    public async Task A_watch_sees_the_unit_start_and_its_main_process_exit_with_its_status()
    {
        await using var systemd = await SystemdManager.ConnectAsync(ct: _ct);
        var prefix = TestUnit.NewPrefix();
        var fifo = $"/run/{prefix}go";
        Assert.Equal(0, Mkfifo(fifo));
        try
        {
            // The main process waits for one line on the fifo, then exits 7: the test decides when.
            await using var unit = await TestUnit.CreateAsync(systemd, prefix + "exits.service", $"Type=exec\nExecStart=/bin/sh -c 'read line < {fifo}; exit 7'");
            await using var watch = await UnitWatch.StartAsync(systemd, unit.Name);
            Assert.Equal(UnitActiveState.Inactive, watch.Last.ActiveState);

            var started = await systemd.StartUnitAsync(unit.Name, _ct);
            Assert.True(started.Succeeded, started.ToString());
            var active = await watch.NextAsync(s => s.ActiveState == UnitActiveState.Active && s.MainPid > 0, Limit, "active with a main process");
            Assert.Equal("running", active.SubState);

            File.WriteAllText(fifo, "go\n"); // blocks until the unit's shell opens the fifo
            var failed = await watch.NextAsync(s => s.ActiveState == UnitActiveState.Failed, Limit, "failed");
            Assert.Equal((MainProcessExit.Exited, 7, 0, "exit-code"), (failed.ExecMainCode, failed.ExecMainStatus, failed.MainPid, failed.Result));
            Assert.Equal(failed, await systemd.GetUnitStateAsync(unit.Name, _ct));
        }
        finally { File.Delete(fifo); }
    }

    [Fact]
    public async Task Restart_on_failure_is_counted_in_NRestarts()
    {
        await using var systemd = await SystemdManager.ConnectAsync(ct: _ct);
        await using var unit = await TestUnit.CreateAsync(systemd, TestUnit.NewPrefix() + "crashes.service",
            "Type=exec\nExecStart=/bin/sh -c 'exit 3'\nRestart=on-failure\nRestartSec=100ms", "StartLimitIntervalSec=0");
        await using var watch = await UnitWatch.StartAsync(systemd, unit.Name);

        // Awaited only after the restarts: had systemd kept the start job across them, the watch would say so.
        var start = systemd.StartUnitAsync(unit.Name, _ct);
        var third = await watch.NextAsync(s => s.NRestarts >= 3, Limit, "three restarts");
        Assert.Equal((MainProcessExit.Exited, 3), (third.ExecMainCode, third.ExecMainStatus));
        // Between runs the unit waits in auto-restart; the count only grows.
        var counts = watch.Seen.Select(s => s.NRestarts).ToList();
        Assert.Equal(counts.Order(), counts);
        Assert.Contains(watch.Seen, s => s.SubState == "auto-restart");
        var started = await start;
        Assert.True(started.Succeeded, started.ToString()); // for Type=exec the job ends at the exec; the exit comes after

        var stopped = await systemd.StopUnitAsync(unit.Name, _ct);
        Assert.True(stopped.Succeeded, stopped.ToString());
        await watch.NextAsync(s => s.ActiveState is UnitActiveState.Inactive or UnitActiveState.Failed && s.SubState is "dead" or "failed", Limit, "stopped");
    }

    [Fact]
    public async Task A_unit_that_cannot_start_gives_a_failed_outcome_and_a_missing_one_an_error()
    {
        await using var systemd = await SystemdManager.ConnectAsync(ct: _ct);
        var prefix = TestUnit.NewPrefix();
        await using var unit = await TestUnit.CreateAsync(systemd, prefix + "missing-binary.service", $"Type=exec\nExecStart=/nonexistent/{prefix}");

        var outcome = await systemd.StartUnitAsync(unit.Name, _ct);
        Assert.Equal(JobResult.Failed, outcome.Result);
        Assert.False(outcome.Succeeded);
        Assert.Equal("failed", outcome.ResultText);
        var state = await systemd.GetUnitStateAsync(unit.Name, _ct);
        // 203 is systemd's EXIT_EXEC: the exec itself failed.
        Assert.Equal((UnitActiveState.Failed, MainProcessExit.Exited, 203, "exit-code"), (state.ActiveState, state.ExecMainCode, state.ExecMainStatus, state.Result));

        var e = await Assert.ThrowsAsync<SystemdException>(() => systemd.StartUnitAsync(prefix + "no-such-unit.service", _ct));
        Assert.True(e.IsNoSuchUnit, $"{e.ErrorName}: {e.Message}");
        Assert.Contains(prefix + "no-such-unit.service", e.Message);
    }

    [Fact]
    public async Task A_unit_file_written_later_is_found_after_Reload()
    {
        await using var systemd = await SystemdManager.ConnectAsync(ct: _ct);
        var name = TestUnit.NewPrefix() + "late.service";
        var missing = await systemd.GetUnitStateAsync(name, _ct);
        Assert.Equal((UnitLoadState.NotFound, UnitActiveState.Inactive), (missing.LoadState, missing.ActiveState));
        await using var unit = await TestUnit.CreateAsync(systemd, name, "Type=exec\nExecStart=/bin/sleep infinity"); // writes, then Reload
        Assert.Equal(UnitLoadState.Loaded, (await systemd.GetUnitStateAsync(name, _ct)).LoadState);
    }

    [Fact]
    public async Task Cancelling_a_wait_leaves_the_job_to_systemd()
    {
        await using var systemd = await SystemdManager.ConnectAsync(ct: _ct);
        // Type=notify without a notification: the start job stays running until it is stopped.
        await using var unit = await TestUnit.CreateAsync(systemd, TestUnit.NewPrefix() + "never-ready.service",
            "Type=notify\nExecStart=/bin/sleep infinity\nTimeoutStartSec=infinity");
        await using var watch = await UnitWatch.StartAsync(systemd, unit.Name);

        using var cancel = new CancellationTokenSource();
        var start = systemd.StartUnitAsync(unit.Name, cancel.Token);
        await watch.NextAsync(s => s.ActiveState == UnitActiveState.Activating && s.MainPid > 0, Limit, "activating");
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
        Assert.Equal(UnitActiveState.Activating, (await systemd.GetUnitStateAsync(unit.Name, _ct)).ActiveState);

        // A stop replaces the pending start: the stop succeeds and the unit ends inactive.
        var stopped = await systemd.StopUnitAsync(unit.Name, _ct);
        Assert.True(stopped.Succeeded, stopped.ToString());
        await watch.NextAsync(s => s.ActiveState == UnitActiveState.Inactive, Limit, "inactive");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, EntryPoint = "mkfifo")]
    private static extern int Mkfifo(string path, uint mode = 0x180 /* 0600 */);

    private static bool ProcessIsInUnit(int pid, string unit)
    {
        try { return File.ReadAllText($"/proc/{pid}/cgroup").Contains("/" + unit); }
        catch (IOException) { return false; }
    }
}
