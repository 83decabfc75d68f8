using System.Diagnostics;

namespace Kraud.Testing;

/// <summary>
/// A throw-away CA and one certificate per host id (CN and SAN DNS = the id, client and server use), made by
/// openssl in the caller's directory, as replication's mutual TLS wants them; plus <see cref="Foreign"/>, a host
/// certificate of another CA.
/// </summary>
public sealed class HostCertificates
{
    public required string Dir { get; init; }
    public string CaFile => Path.Combine(Dir, "ca.pem");
    public string Cert(string host) => Path.Combine(Dir, host + ".pem");
    public string Key(string host) => Path.Combine(Dir, host + ".key");

    public static HostCertificates Create(string dir, params string[] hosts)
    {
        MakeCa(dir, "ca");
        foreach (var h in hosts) Issue(dir, "ca", h, h);
        return new HostCertificates { Dir = dir };
    }

    /// <summary>A certificate for <paramref name="host"/> from another CA (files &lt;name&gt;.pem/.key, CA other-ca.pem).</summary>
    public (string Cert, string Key) Foreign(string host, string name)
    {
        if (!File.Exists(Path.Combine(Dir, "other-ca.pem"))) MakeCa(Dir, "other-ca");
        Issue(Dir, "other-ca", host, name);
        return (Path.Combine(Dir, name + ".pem"), Path.Combine(Dir, name + ".key"));
    }

    private static void MakeCa(string dir, string name) =>
        OpenSsl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", $"/CN=kraud {name}", "-keyout", Path.Combine(dir, name + ".key"), "-out", Path.Combine(dir, name + ".pem"));

    private static void Issue(string dir, string ca, string host, string name)
    {
        string F(string n) => Path.Combine(dir, n);
        File.WriteAllText(F(name + ".ext"), $"subjectAltName=DNS:{host}\nextendedKeyUsage=serverAuth,clientAuth\n");
        OpenSsl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + host,
            "-keyout", F(name + ".key"), "-out", F(name + ".csr"));
        OpenSsl("x509", "-req", "-in", F(name + ".csr"), "-CA", F(ca + ".pem"), "-CAkey", F(ca + ".key"), "-CAcreateserial",
            "-days", "1", "-extfile", F(name + ".ext"), "-out", F(name + ".pem"));
        File.SetUnixFileMode(F(name + ".key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static void OpenSsl(params string[] args) => TestCertificates.OpenSsl(args);
}
