using Microsoft.Extensions.Time.Testing;
using Kraud.Zfs;

namespace Kraud.Agent.Tests.Host;

/// <summary>
/// resources.pools with the real ZfsCli and builder: a stand-in `zpool` script prints what `zpool list -Hp` prints
/// and records each call, so the test sees the argv, the parsed pools and how often a process starts.
/// </summary>
public sealed class PoolReportTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private string Calls => _dir.File("calls");
    private string Output => _dir.File("output");

    private int CallCount => File.Exists(Calls) ? File.ReadAllLines(Calls).Length : 0;

    private PoolReport Report(bool zfsPresent = true, int exitCode = 0)
    {
        string script = _dir.Write("zpool", $"""
            #!/bin/sh
            echo "$*" >> '{Calls}'
            cat '{Output}'
            exit {exitCode}
            """);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new PoolReport(new ZfsCli { ZpoolPath = script }, () => zfsPresent, _clock);
    }

    private static async Task<List<PoolResource>> ContributeAsync(PoolReport report)
    {
        var builder = new HostReportBuilder();
        await report.ContributeAsync(builder, default);
        return builder.Pools;
    }

    [Fact]
    public async Task Every_pool_zpool_lists_is_reported_with_its_size_and_free_bytes()
    {
        File.WriteAllText(Output, "tank\t1998997045248\t1234567890123\nfast\t536870912\t402653184\n");
        var pools = await ContributeAsync(Report());
        Assert.Equal([new PoolResource("tank", 1998997045248, 1234567890123), new PoolResource("fast", 536870912, 402653184)], pools);
        Assert.Equal(["list -H -p -o name,size,free"], File.ReadAllLines(Calls));
    }

    [Fact]
    public async Task One_listing_serves_the_heartbeats_of_the_refresh_interval_then_a_new_one_is_taken()
    {
        File.WriteAllText(Output, "tank\t1000\t600\n");
        var report = Report();
        Assert.Equal([new PoolResource("tank", 1000, 600)], await ContributeAsync(report));
        File.WriteAllText(Output, "tank\t1000\t300\n");
        _clock.Advance(PoolReport.Refresh - TimeSpan.FromSeconds(1));
        Assert.Equal([new PoolResource("tank", 1000, 600)], await ContributeAsync(report));
        Assert.Equal(1, CallCount);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([new PoolResource("tank", 1000, 300)], await ContributeAsync(report));
        Assert.Equal(2, CallCount);
    }

    [Fact]
    public async Task Without_zfs_no_pools_are_reported_and_no_command_runs()
    {
        File.WriteAllText(Output, "tank\t1000\t600\n");
        Assert.Empty(await ContributeAsync(Report(zfsPresent: false)));
        Assert.Equal(0, CallCount);
    }

    [Fact]
    public async Task No_pools_imported_is_an_empty_list()
    {
        File.WriteAllText(Output, "");
        Assert.Empty(await ContributeAsync(Report()));
        Assert.Equal(1, CallCount);
    }

    [Fact]
    public async Task A_failed_listing_throws_for_the_heartbeat_to_log_reports_no_pools_and_waits_for_the_next_refresh()
    {
        File.WriteAllText(Output, "");
        var report = Report(exitCode: 1);
        var builder = new HostReportBuilder();
        await Assert.ThrowsAnyAsync<Exception>(() => report.ContributeAsync(builder, default));
        Assert.Empty(builder.Pools);

        // Within the refresh interval the failure is not retried: no process start, no second warning.
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(await ContributeAsync(report));
        Assert.Equal(1, CallCount);
    }

    [Fact]
    public async Task An_output_line_without_the_three_columns_fails_instead_of_being_guessed_at()
    {
        File.WriteAllText(Output, "tank 1000 600\n");
        var builder = new HostReportBuilder();
        await Assert.ThrowsAsync<FormatException>(() => Report().ContributeAsync(builder, default));
        Assert.Empty(builder.Pools);
    }

    public void Dispose() => _dir.Dispose();

}
