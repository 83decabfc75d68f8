using System.IO.Pipes;
using System.Security.Cryptography;
using CliWrap;
using Kraud.Commands;
using Kraud.Zfs.Send;

namespace Kraud.Zfs.Tests.Host;

/// <summary>The pump between zfs send/receive's pipes and the replication stream, with real programs at the pipes' other ends.</summary>
public class StreamPumpTests
{
    private readonly ArgvRunner _run = new();

    [Fact]
    public async Task EveryByteOfAProgramsOutputArrivesInOrderThroughAPipeGrownTo1MiB()
    {
        string file = Path.GetTempFileName();
        try
        {
            var data = new byte[(5 << 20) + 12345]; // five whole buffers and a part
            RandomNumberGenerator.Fill(data);
            await File.WriteAllBytesAsync(file, data);
            var into = new MemoryStream();
            int pipeSize = 0;
            var reports = new List<long>();
            var r = await _run.RunPipedAsync(["/bin/cat", file], null, PipeTarget.Create(async (stdout, ct) =>
            {
                StreamPump.GrowPipe(stdout);
                pipeSize = PipeSize(stdout);
                Assert.Equal(data.Length, await StreamPump.CopyAsync(stdout, into, reports.Add, ct));
            }));
            Assert.True(r.Succeeded, r.Stderr);
            Assert.Equal(1 << 20, pipeSize);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(into.ToArray()));
            Assert.Equal(data.Length, reports[^1]);
            Assert.True(reports.Count >= 6, $"{reports.Count} reports"); // one per written buffer of at most 1 MiB
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task AProgramThatStopsReadingEndsThePumpWithAnIOException()
    {
        // `head -c 1` reads a byte and exits: the pump's next write into its stdin meets a closed pipe.
        Exception? error = null;
        var source = new MemoryStream(new byte[64 << 20]);
        var r = await _run.RunPipedAsync(["/usr/bin/head", "-c", "1"], PipeSource.Create(async (stdin, ct) =>
        {
            try { await StreamPump.CopyAsync(source, stdin, null, ct); }
            catch (Exception e) { error = e; }
        }), null, TimeSpan.FromSeconds(30));
        Assert.True(r.Succeeded, r.Stderr);
        Assert.IsAssignableFrom<IOException>(error);
        Assert.True(source.Position < source.Length, "the pump kept reading after the write failed");
    }

    private static int PipeSize(Stream s) =>
        s is PipeStream p ? Kraud.Libc.Native.fcntl((int)p.SafePipeHandle.DangerousGetHandle(), 1032 /* F_GETPIPE_SZ */, 0) : -1;
}
