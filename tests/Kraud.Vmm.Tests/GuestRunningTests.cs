using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Kraud.Libc;
using Kraud.Testing;

namespace Kraud.Vmm.Tests;

/// <summary>
/// READY=1 over NOTIFY_SOCKET, what kraud-vm@.service (Type=notify) and the agent's child supervisor wait for
/// before they call a VM running: the published VMM sends it once, right before the guest's first instruction,
/// so before the guest's first serial byte, and never for a VM that does not get that far.
/// </summary>
public sealed partial class GuestRunningTests : IDisposable
{
    private readonly TempDir _dir = new("kraud-vmm-ready-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadyArrivesOnce_BeforeTheGuestsFirstSerialByte(bool viaAgent)
    {
        using var notify = new NotifyListener();
        string fifo = Path.Combine(_dir.Path, "serial.fifo");
        Assert.True(mkfifo(fifo, 0x180) == 0, $"mkfifo {fifo}: errno {Marshal.GetLastPInvokeError()}");
        using var p = VmmProcess.Start(viaAgent, notify, "--config", WriteLaunch(fifo));
        // The VMM opens its serial log while it builds the VM, before READY=1; the first read here returns when
        // the guest writes its first byte.
        var serial = Task.Factory.StartNew(() => ReadSerial(fifo), TaskCreationOptions.LongRunning);
        try
        {
            var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
            Assert.True(code == VmmExitCode.PowerOff, $"exit {code}: {stderr}");
            var (firstByteSeen, text) = await serial.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("hello from the kraud test guest\n", text);
            await SeenEverythingSent(notify);
            var ready = Assert.Single(notify.Messages, m => m.Text == "READY=1");
            Assert.Contains(notify.Messages, m => m.Text == "STATUS=guest running" && m.At == ready.At); // one datagram
            // Both are wall-clock times: the kernel's arrival stamp of the datagram, and when the byte was read.
            Assert.True(ready.At < firstByteSeen, $"READY=1 arrived at {ready.At}, the first serial byte was seen at {firstByteSeen}");
        }
        finally
        {
            // A VMM that died before opening the FIFO leaves the reader blocked in open: a writer of ours releases it.
            if (!serial.IsCompleted && Native.open(fifo, Native.O_WRONLY | Native.O_NONBLOCK) is var fd and >= 0) Native.close(fd);
        }
    }

    [Theory]
    [InlineData("memoryMiB", 65)] // refused by the validator, before anything is opened
    [InlineData("kernel", 65)]    // not a kernel: refused after KVM and guest memory were set up
    [InlineData("tap", 69)]       // "lo" is no tap: the host cannot provide it, the build fails
    public async Task AVmThatNeverRuns_NeverSendsReady(string fault, int expectedExit)
    {
        using var notify = new NotifyListener();
        string notAKernel = Path.Combine(_dir.Path, "not-a-kernel");
        File.WriteAllText(notAKernel, "this is not a kernel at all, just text long enough to read");
        using var p = VmmProcess.Start(viaAgent: false, notify, "--config", WriteLaunch(Path.Combine(_dir.Path, "serial.log"), l =>
        {
            if (fault == "memoryMiB") l["memoryMiB"] = "lots";
            else if (fault == "kernel") l["kernel"] = notAKernel;
            else l["nets"] = new JsonArray(new JsonObject { ["tap"] = "lo", ["mac"] = "02:00:00:00:00:01" });
        }));
        var (code, stderr, _) = await VmmProcess.Finish(p, TimeSpan.FromSeconds(30));
        Assert.True(code == expectedExit, $"exit {code}: {stderr}");
        await SeenEverythingSent(notify);
        Assert.DoesNotContain(notify.Messages, m => m.Text.StartsWith("READY=", StringComparison.Ordinal));
    }

    private string WriteLaunch(string serialLog, Action<JsonObject>? edit = null)
    {
        var launch = new JsonObject
        {
            ["id"] = "ready-vm", ["vcpus"] = 1, ["memoryMiB"] = 64, ["kernel"] = TestGuests.Path("hello"), ["initrd"] = null,
            ["cmdline"] = "console=ttyS0", ["serialLog"] = serialLog, ["disks"] = new JsonArray(), ["nets"] = new JsonArray(),
        };
        edit?.Invoke(launch);
        string path = Path.Combine(_dir.Path, "launch.json");
        File.WriteAllText(path, launch.ToJsonString());
        return path;
    }

    /// <summary>
    /// Waits until the listener has read every datagram the exited VMM sent: they sit in the socket's queue ahead of
    /// a marker sent now, so once the marker is read there is nothing of the VMM's left to arrive.
    /// </summary>
    private static async Task SeenEverythingSent(NotifyListener notify)
    {
        using (var socket = new UnixDatagramSocket(notify.Address))
            Assert.Equal(0, socket.TrySend("X_KRAUD_TEST=end"u8));
        await Deadline.WaitUntilAsync(() => notify.Has("X_KRAUD_TEST=end"), TimeSpan.FromSeconds(10), "the test's marker datagram");
    }

    /// <summary>Reads the serial FIFO to its end; returns when its first byte was seen (since the Unix epoch, as the listener's stamps).</summary>
    private static (TimeSpan FirstByteSeen, string Text) ReadSerial(string fifo)
    {
        using var stream = new FileStream(fifo, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        int first = stream.ReadByte();
        var seen = DateTime.UtcNow - DateTime.UnixEpoch;
        if (first < 0) return (seen, "");
        using var reader = new StreamReader(stream);
        return (seen, (char)first + reader.ReadToEnd());
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);
}
