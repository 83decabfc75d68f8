using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kraud.Oci;

/// <summary>The HttpClient for one registry: its TLS trust (system roots plus the configured CA file) and timeouts.</summary>
internal static class RegistryHttp
{
    public static HttpClient Create(RegistryOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            // Blobs are verified and stored exactly as the registry holds them, so HTTP never decompresses them:
            // AutomaticDecompression stays at its default, None. It is not even set, because setting it (to any
            // value) links the decompression handler and Brotli into the native binary.
            // Registries redirect blob downloads to object storage; HttpClient drops the Authorization header
            // when it follows one, so credentials stay with the registry.
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            UseCookies = false,
        };
        if (options.CaFile is { } caFile)
        {
            X509Certificate2Collection cas = LoadCas(options.Host, caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, chain, errors) => Validate(cas, cert, chain, errors);
        }
        // Time limits are per request (headers) and per read (idle body), set by the callers; a whole-request limit
        // would cut off a large layer on a slow link.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static X509Certificate2Collection LoadCas(string host, string caFile)
    {
        var cas = new X509Certificate2Collection();
        try
        {
            cas.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new OciException($"registry {host}: CA file {caFile}: {e.Message}", permanent: true, e);
        }
        if (cas.Count == 0) throw new OciException($"registry {host}: CA file {caFile} holds no PEM certificate", permanent: true);
        return cas;
    }

    // The system's verdict first; only a chain the system does not trust gets a second try against the CA file.
    // A name mismatch or a missing certificate is never forgiven.
    private static bool Validate(X509Certificate2Collection cas, X509Certificate? cert, X509Chain? presented, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || cert is not X509Certificate2 leaf) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        // Private CAs rarely run OCSP or CRL endpoints; the certificate's validity period is still checked.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (X509ChainElement e in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(e.Certificate);
        }
        return chain.Build(leaf);
    }
}
