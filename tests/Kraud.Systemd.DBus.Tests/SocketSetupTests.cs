using System.Net.Sockets;
using System.Text;

namespace Kraud.Systemd.DBus.Tests;

public sealed class SocketSetupTests
{
    [Fact]
    public async Task BEGIN_goes_out_with_the_first_AUTH_and_the_librarys_own_BEGIN_is_dropped()
    {
        var wire = new MemoryStream();
        var stream = new PipelinedBeginStream(wire);
        // What Tmds.DBus.Protocol writes, in its order: the nul byte, AUTH, (after OK) BEGIN, then messages.
        foreach (var write in new[] { "\0", "AUTH EXTERNAL 30\r\n", "BEGIN\r\n", "l\u0001hello", "BEGIN\r\n" })
            await stream.WriteAsync(Encoding.ASCII.GetBytes(write));
        // A later message that happens to read BEGIN\r\n is not dropped: only the library's one is.
        Assert.Equal("\0AUTH EXTERNAL 30\r\nBEGIN\r\nl\u0001helloBEGIN\r\n", Encoding.ASCII.GetString(wire.ToArray()));
    }

    [Theory]
    [InlineData("unix:path=/run/systemd/private", "/run/systemd/private")]
    [InlineData("unix:path=/run/dbus/system_bus_socket,guid=0123", "/run/dbus/system_bus_socket")]
    [InlineData("unix:path=/tmp/a%20b;unix:path=/other", "/tmp/a b")]
    public void A_unix_path_address_names_its_socket(string address, string path) =>
        Assert.Equal(path, SocketSetup.Endpoint(address).ToString());

    [Fact]
    public void An_address_of_another_kind_is_refused_by_name()
    {
        var e = Assert.Throws<SystemdException>(() => SocketSetup.Endpoint("tcp:host=localhost,port=1"));
        Assert.Contains("tcp:host=localhost", e.Message);
    }

    [Fact]
    public async Task Connecting_where_nothing_listens_fails_with_a_SystemdException()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kraud-no-systemd-{Guid.NewGuid():N}.sock");
        var e = await Assert.ThrowsAsync<SystemdException>(() => SystemdManager.ConnectAsync("unix:path=" + path));
        Assert.Contains(path, e.Message);
        var causes = new List<Exception>();
        for (Exception? c = e.InnerException; c is not null; c = c.InnerException) causes.Add(c);
        Assert.Contains(causes, c => c is SocketException);
    }
}
