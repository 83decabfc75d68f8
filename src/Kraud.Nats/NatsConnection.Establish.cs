using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Kraud.Nats.Internal;

namespace Kraud.Nats;

public sealed partial class NatsConnection
{
    /// <summary>TCP connect, INFO, optional TLS upgrade, CONNECT + PING, wait for PONG.</summary>
    private async Task<Session> EstablishAsync(NatsUri uri, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposeCts.Token);
        timeout.CancelAfter(Opts.ConnectTimeout);
        var ct = timeout.Token;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try { await socket.ConnectAsync(uri.Host, uri.Port, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new NatsException($"connect to {uri} timed out after {Opts.ConnectTimeout.TotalMilliseconds:0} ms");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        ProtocolReader? reader = null;
        try
        {
            reader = new ProtocolReader(stream);
            var info = ParseInfo(await reader.ReadLineAsync(ct).ConfigureAwait(false), uri);
            var tls = Opts.TlsOpts.Mode == TlsMode.Require || uri.Tls || info.TlsRequired;
            if (tls && Opts.TlsOpts.Mode == TlsMode.Disable) throw new NatsException($"server {uri} requires TLS but TLS is disabled");
            if (tls)
            {
                reader.Dispose();
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(TlsAuthOptions(uri), ct).ConfigureAwait(false);
                stream = ssl;
                reader = new ProtocolReader(stream);
            }
            await SendConnectAsync(stream, uri, tls, ct).ConfigureAwait(false);
            while (true)
            {
                var line = await reader.ReadLineAsync(ct).ConfigureAwait(false);
                if (line.StartsWith("PONG", StringComparison.OrdinalIgnoreCase)) break;
                if (line.StartsWith("-ERR", StringComparison.OrdinalIgnoreCase))
                    throw new NatsException($"server {uri} refused the connection: {line[4..].Trim().Trim('\'')}");
                if (line.StartsWith("INFO", StringComparison.OrdinalIgnoreCase)) info = ParseInfo(line, uri);
                else if (line.StartsWith("PING", StringComparison.OrdinalIgnoreCase)) await stream.WriteAsync("PONG\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            }
            _pool.Merge(info.ClientConnectUrls);
            return new Session(uri, stream, reader, info);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !_disposed)
        {
            reader?.Dispose();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new NatsException($"handshake with {uri} timed out after {Opts.ConnectTimeout.TotalMilliseconds:0} ms");
        }
        catch
        {
            reader?.Dispose();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static NatsServerInfo ParseInfo(string line, NatsUri uri)
    {
        if (!line.StartsWith("INFO ", StringComparison.OrdinalIgnoreCase))
            throw new NatsException($"expected INFO from {uri}, got '{(line.Length > 60 ? line[..60] : line)}'");
        return JsonSerializer.Deserialize(line.AsSpan(5), CoreJsonContext.Default.NatsServerInfo)
            ?? throw new NatsException($"empty INFO from {uri}");
    }

    private async Task SendConnectAsync(Stream stream, NatsUri uri, bool tls, CancellationToken ct)
    {
        var auth = Opts.AuthOpts;
        string? user = auth.Username, pass = auth.Password, token = auth.Token;
        if (user is null && token is null && uri.User is not null)
        {
            // nats://user:pass@host is user/password; nats://token@host is a token.
            if (uri.Password is not null) { user = uri.User; pass = uri.Password; }
            else token = uri.User;
        }
        var opts = new ConnectOpts
        {
            Echo = Opts.Echo,
            TlsRequired = tls,
            Name = Opts.Name,
            AuthToken = token,
            User = user,
            Pass = pass,
        };
        using var buf = new CommandBuffer();
        ProtocolEncoder.Connect(buf, JsonSerializer.SerializeToUtf8Bytes(opts, CoreJsonContext.Default.ConnectOpts));
        ProtocolEncoder.Ping(buf);
        await stream.WriteAsync(buf.Written, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    private SslClientAuthenticationOptions TlsAuthOptions(NatsUri uri)
    {
        var t = Opts.TlsOpts;
        var o = new SslClientAuthenticationOptions { TargetHost = uri.Host };
        if (t.CertFile is not null && t.KeyFile is not null)
            o.ClientCertificates = [X509Certificate2.CreateFromPemFile(t.CertFile, t.KeyFile)];
        if (t.InsecureSkipVerify)
        {
            o.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (t.CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(t.CaFile);
            o.RemoteCertificateValidationCallback = (_, cert, _, errors) => ValidateWithCa(roots, cert, errors);
        }
        return o;
    }

    /// <summary>Accepts a server certificate that chains to one of our CA roots and matches the host name.</summary>
    private static bool ValidateWithCa(X509Certificate2Collection roots, X509Certificate? cert, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (cert is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var leaf = cert as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        return chain.Build(leaf);
    }
}
