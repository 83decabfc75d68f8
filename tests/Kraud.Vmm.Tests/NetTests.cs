using System.Text;
using System.Text.Json.Nodes;

namespace Kraud.Vmm.Tests;

/// <summary>The net guest's frame appears on the tap, and a frame the test sends into the tap reaches the guest.</summary>
public sealed class NetTests
{
    private const ushort EtherType = 0x88b5;
    private static readonly byte[] GuestMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    [Fact]
    public async Task NetGuest_FrameOut_AppearsOnTap_AndFrameIn_ReachesGuest()
    {
        using var tap = new TestTap();
        using var packets = new PacketSocket(tap.Name, EtherType);
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("net"));
        launch["nets"] = new JsonArray(new JsonObject { ["tap"] = tap.Name, ["mac"] = "02:00:00:00:00:01" });
        var run = vm.RunAsync(launch);

        byte[]? fromGuest = null;
        var until = DateTime.UtcNow.AddSeconds(20);
        while (fromGuest == null && DateTime.UtcNow < until && !run.IsCompleted)
        {
            var frame = packets.Receive(100);
            if (frame != null && frame.AsSpan(6, 6).SequenceEqual(GuestMac)) fromGuest = frame;
        }
        if (fromGuest == null)
        {
            string ended = run.IsCompleted ? vm.Describe(await run) : vm.Serial;
            Assert.Fail($"no frame from the guest on {tap.Name}\n{ended}");
        }
        Assert.True(fromGuest!.AsSpan(0, 6).SequenceEqual(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }));
        Assert.Equal("kraud guest frame", Encoding.ASCII.GetString(fromGuest, 14, 17));

        var reply = new byte[60];
        GuestMac.CopyTo(reply, 0);
        new byte[] { 0x02, 0, 0, 0, 0, 0xfe }.CopyTo(reply, 6);
        reply[12] = 0x88;
        reply[13] = 0xb5;
        Encoding.ASCII.GetBytes("kraud host frame").CopyTo(reply, 14);
        packets.Send(reply);

        int code = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Contains("net: mac=02:00:00:00:00:01\n", vm.Serial);
        Assert.Contains("net: sent\n", vm.Serial);
        Assert.Contains("net: received 60 bytes: kraud host frame\n", vm.Serial);
    }
}
