namespace Kraud.Lane.Tests;

/// <summary>The lane runner itself, from the host: it boots, passes exit codes through, enforces its time
/// limit, and brings files out. Each test is one boot (15–30 s under TCG); they share a collection so two
/// QEMUs never compete for the machine's two cores.</summary>
[Collection(LaneBoots.Name)]
[Trait("lane", "boot")]
public sealed class LaneBootTests
{
    [Fact]
    public async Task Boots_and_returns_zero_for_true()
    {
        var r = await Lane.RunAsync("--", "true");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("LANE_EXIT=0", r.Stdout);
    }

    [Fact]
    public async Task A_failing_command_fails_the_run_with_its_exit_code()
    {
        var r = await Lane.RunAsync("--", "sh", "-c", "echo about-to-fail; exit 3");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains("about-to-fail", r.Stdout);
    }

    [Fact]
    public async Task A_hung_command_is_killed_at_its_limit_and_reported()
    {
        var r = await Lane.RunAsync(["--timeout", "20", "--", "sleep", "1000"], TimeSpan.FromSeconds(20));
        Assert.True(r.ExitCode == 124, r.ToString());
        Assert.Contains("TIMED OUT after 20s", r.Stderr);
        Assert.InRange(r.Elapsed, TimeSpan.FromSeconds(19), TimeSpan.FromSeconds(40));
    }

    [Fact]
    public async Task Files_written_to_lane_out_come_out_and_the_command_runs_as_root_in_the_callers_directory()
    {
        var outDir = Directory.CreateTempSubdirectory("kraud-lane-test-out-").FullName;
        // A file the host writes before the boot is visible inside (the guest sees the host's root, /tmp too).
        var hostFile = Path.GetTempFileName();
        var hostText = Guid.NewGuid().ToString();
        File.WriteAllText(hostFile, hostText);
        try
        {
            var script = $"set -e; cp {hostFile} /lane-out/seen; " +
                         "mkdir -p /lane-out/sub; pwd > /lane-out/sub/cwd; id -u > /lane-out/uid; " +
                         "test -d /run/kraud-lane && echo marker > /lane-out/marker; " +
                         "ip -o link show lo | grep -q UP && echo up > /lane-out/lo; " +
                         "head -c 1048576 /dev/urandom > /lane-out/big; sha256sum /lane-out/big | cut -d' ' -f1 > /lane-out/big.sum";
            var r = await Lane.RunAsync("--out", outDir, "--", "bash", "-c", script);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal(Lane.RepoRoot, File.ReadAllText(Path.Combine(outDir, "sub", "cwd")).Trim());
            Assert.Equal("0", File.ReadAllText(Path.Combine(outDir, "uid")).Trim());
            Assert.Equal("marker", File.ReadAllText(Path.Combine(outDir, "marker")).Trim());
            Assert.Equal("up", File.ReadAllText(Path.Combine(outDir, "lo")).Trim());
            Assert.Equal(hostText, File.ReadAllText(Path.Combine(outDir, "seen")));
            // A larger file arrives whole: the host's hash of it matches the guest's.
            var big = File.ReadAllBytes(Path.Combine(outDir, "big"));
            Assert.Equal(1 << 20, big.Length);
            Assert.Equal(File.ReadAllText(Path.Combine(outDir, "big.sum")).Trim(),
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(big)));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
            File.Delete(hostFile);
        }
    }

    [Fact]
    public async Task The_kernel_modules_the_project_needs_load_with_modprobe()
    {
        var r = await Lane.RunAsync("--", "bash", "-c",
            "set -e; for m in zfs wireguard ip6_tunnel nfsd ext4; do modprobe $m; done; " +
            "for m in zfs wireguard ip6_tunnel nfsd ext4; do test -d /sys/module/$m && echo loaded:$m; done");
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var m in new[] { "zfs", "wireguard", "ip6_tunnel", "nfsd", "ext4" })
            Assert.Contains($"loaded:{m}", r.Stdout);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LaneBoots
{
    public const string Name = "lane boots";
}
