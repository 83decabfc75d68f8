using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kraud.Testing;

namespace Kraud.Oci.Tests.Fixtures;

/// <summary>
/// The one fake in these tests: a token service (distribution's token spec) on loopback, because Debian ships no
/// token server. It checks Basic credentials and issues ES256 JWTs with an x5c header whose self-signed certificate
/// the real registry trusts (its rootcertbundle), granting the scope asked for. It counts what it was asked.
/// </summary>
public sealed class TokenIssuer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string _x5c;
    private readonly string _user, _password;
    private readonly List<string> _requests = [];
    private readonly TempDir _dir = new("kraud-token");
    private readonly Task _loop;

    public TokenIssuer(string user, string password)
    {
        _user = user;
        _password = password;
        var request = new CertificateRequest("CN=kraud test token issuer", _key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _x5c = Convert.ToBase64String(cert.RawData);
        CertificateFile = _dir.Write("issuer.pem", cert.ExportCertificatePem() + "\n");
        int port = FreePort.Next();
        Realm = $"http://127.0.0.1:{port}/token";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/token/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Realm { get; }
    public string Service => "kraud-test-registry";
    public string Issuer => "kraud-test-issuer";
    public string CertificateFile { get; }

    /// <summary>Token lifetime in seconds (what expires_in says).</summary>
    public int ExpiresIn { get; set; } = 300;

    /// <summary>The scope of every token request served, in order ("-" for a refused one).</summary>
    public IReadOnlyList<string> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    /// <summary>Every token issued, so a test can check none leaks into a message.</summary>
    public List<string> Issued { get; } = [];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            try
            {
                Serve(ctx);
            }
            finally
            {
                ctx.Response.Close();
            }
        }
    }

    private void Serve(HttpListenerContext ctx)
    {
        string? auth = ctx.Request.Headers["Authorization"];
        string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_user}:{_password}"));
        string scope = ctx.Request.QueryString["scope"] ?? "";
        if (auth != expected || ctx.Request.QueryString["service"] != Service)
        {
            lock (_requests) _requests.Add("-");
            ctx.Response.StatusCode = 401;
            return;
        }
        lock (_requests) _requests.Add(scope);
        // scope = repository:<name>:<action,action>
        string[] parts = scope.Split(':');
        var access = new JsonArray();
        if (parts.Length == 3)
            access.Add((JsonNode)new JsonObject { ["type"] = parts[0], ["name"] = parts[1], ["actions"] = new JsonArray([.. parts[2].Split(',').Select(a => JsonValue.Create(a))]) });
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "ES256", ["x5c"] = new JsonArray(_x5c) };
        var claims = new JsonObject
        {
            ["iss"] = Issuer, ["sub"] = _user, ["aud"] = Service, ["exp"] = now + ExpiresIn, ["nbf"] = now - 10, ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"), ["access"] = access,
        };
        string signingInput = B64(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        // JWS ES256 is r||s (IEEE P1363), which is .NET's default signature format.
        string jwt = signingInput + "." + B64(_key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256));
        lock (Issued) Issued.Add(jwt);
        byte[] body = Encoding.UTF8.GetBytes(new JsonObject { ["token"] = jwt, ["expires_in"] = ExpiresIn }.ToJsonString());
        ctx.Response.ContentType = "application/json";
        ctx.Response.OutputStream.Write(body);
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _key.Dispose();
        _dir.Dispose();
    }
}
