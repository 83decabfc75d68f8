using System.Diagnostics;
using System.Text;
using Kraud.Testing;

namespace Kraud.Nats.Tests;

public sealed class AuthTlsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static async Task RoundTripAsync(NatsConnection nats)
    {
        await using var sub = await nats.SubscribeCoreAsync("auth.check");
        await nats.PublishAsync("auth.check", Encoding.UTF8.GetBytes("ok"));
        var m = await sub.Msgs.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("ok", Encoding.UTF8.GetString(m.Data.Span));
    }

    [Fact]
    public async Task User_and_password_from_options_or_url()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false, User = "kraud", Password = "s3cret" });
        await using (var viaOpts = new NatsConnection(new NatsOpts { Url = server.Url, AuthOpts = new NatsAuthOpts { Username = "kraud", Password = "s3cret" } }))
            await RoundTripAsync(viaOpts);
        await using (var viaUrl = new NatsConnection(new NatsOpts { Url = $"nats://kraud:s3cret@127.0.0.1:{server.Port}" }))
            await RoundTripAsync(viaUrl);
        await using var wrong = new NatsConnection(new NatsOpts { Url = server.Url, AuthOpts = new NatsAuthOpts { Username = "kraud", Password = "nope" } });
        var ex = await Assert.ThrowsAsync<NatsException>(async () => await wrong.ConnectAsync());
        Assert.Contains("Authorization Violation", ex.Message);
        Assert.Equal(NatsConnectionState.Closed, wrong.ConnectionState);
    }

    [Fact]
    public async Task Token_auth()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false, Token = "tok-123" });
        await using (var ok = new NatsConnection(new NatsOpts { Url = server.Url, AuthOpts = new NatsAuthOpts { Token = "tok-123" } }))
            await RoundTripAsync(ok);
        await using (var viaUrl = new NatsConnection(new NatsOpts { Url = $"nats://tok-123@127.0.0.1:{server.Port}" }))
            await RoundTripAsync(viaUrl);
        await using var none = new NatsConnection(new NatsOpts { Url = server.Url });
        var ex = await Assert.ThrowsAsync<NatsException>(async () => await none.ConnectAsync());
        Assert.Contains("Authorization Violation", ex.Message);
    }

    [Fact]
    public async Task Tls_with_a_ca_file()
    {
        using var pki = TestPki.Create();
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { JetStream = false, TlsCertFile = pki.ServerCert, TlsKeyFile = pki.ServerKey });
        Assert.StartsWith("tls://", server.Url);

        // tls:// URL and CA file: verified against our CA.
        await using (var tls = new NatsConnection(new NatsOpts { Url = server.Url, TlsOpts = new NatsTlsOpts { CaFile = pki.CaCert } }))
        {
            await RoundTripAsync(tls);
            Assert.Equal(NatsConnectionState.Open, tls.ConnectionState);
        }
        // nats:// URL: the server's tls_required switches TLS on.
        await using (var byInfo = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{server.Port}", TlsOpts = new NatsTlsOpts { CaFile = pki.CaCert } }))
            await RoundTripAsync(byInfo);

        // Without our CA the certificate is not trusted.
        await using var untrusted = new NatsConnection(new NatsOpts { Url = server.Url });
        await Assert.ThrowsAnyAsync<Exception>(async () => await untrusted.ConnectAsync());
        // A CA that did not sign it is refused too.
        using var otherPki = TestPki.Create();
        await using var wrongCa = new NatsConnection(new NatsOpts { Url = server.Url, TlsOpts = new NatsTlsOpts { CaFile = otherPki.CaCert } });
        await Assert.ThrowsAnyAsync<Exception>(async () => await wrongCa.ConnectAsync());
    }

    /// <summary>A CA and a server certificate for 127.0.0.1/localhost made with openssl.</summary>
    private sealed class TestPki : IDisposable
    {
        private TestPki(string dir) => Dir = dir;

        public string Dir { get; }
        public string CaCert => Path.Combine(Dir, "ca.pem");
        public string ServerCert => Path.Combine(Dir, "server.pem");
        public string ServerKey => Path.Combine(Dir, "server-key.pem");

        public static TestPki Create()
        {
            var p = new TestPki(Directory.CreateTempSubdirectory("kraud-pki-").FullName);
            var caKey = Path.Combine(p.Dir, "ca-key.pem");
            var csr = Path.Combine(p.Dir, "server.csr");
            var ext = Path.Combine(p.Dir, "ext.cnf");
            File.WriteAllText(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n");
            Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKey, "-out", p.CaCert, "-days", "2", "-subj", "/CN=kraud test CA");
            Run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p.ServerKey, "-out", csr, "-subj", "/CN=localhost");
            Run("x509", "-req", "-in", csr, "-CA", p.CaCert, "-CAkey", caKey, "-CAcreateserial", "-out", p.ServerCert, "-days", "2", "-extfile", ext);
            return p;
        }

        private static void Run(params string[] args)
        {
            var psi = new ProcessStartInfo("openssl") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var proc = Process.Start(psi)!;
            var err = proc.StandardError.ReadToEnd();
            proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            if (proc.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {err}");
        }

        public void Dispose()
        {
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
    }
}
