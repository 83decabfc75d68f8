using System.Diagnostics;

namespace Kraud.Testing;

/// <summary>
/// A throw-away CA with a server certificate for 127.0.0.1 and a client certificate, made by openssl in a
/// directory of the caller's (PEM files, private keys mode 0600, valid for one day).
/// </summary>
public sealed record TestCertificates(string CaFile, string ServerCert, string ServerKey, string ClientCert, string ClientKey)
{
    public static TestCertificates Create(string dir)
    {
        string F(string name) => Path.Combine(dir, name);
        OpenSsl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=kraud test CA", "-keyout", F("ca.key"), "-out", F("ca.pem"));
        Issue(dir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        Issue(dir, "client", "/CN=kraud-agent", "extendedKeyUsage=clientAuth\n");
        foreach (string key in new[] { "ca.key", "server.key", "client.key" })
            File.SetUnixFileMode(F(key), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new TestCertificates(F("ca.pem"), F("server.pem"), F("server.key"), F("client.pem"), F("client.key"));
    }

    private static void Issue(string dir, string name, string subject, string extensions)
    {
        string F(string n) => Path.Combine(dir, n);
        File.WriteAllText(F(name + ".ext"), extensions);
        OpenSsl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", subject,
            "-keyout", F(name + ".key"), "-out", F(name + ".csr"));
        OpenSsl("x509", "-req", "-in", F(name + ".csr"), "-CA", F("ca.pem"), "-CAkey", F("ca.key"), "-CAcreateserial",
            "-days", "1", "-extfile", F(name + ".ext"), "-out", F(name + ".pem"));
    }

    /// <summary>Runs openssl with <paramref name="args"/>; its error output in the exception when it fails.</summary>
    internal static void OpenSsl(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {stderr.Result}");
    }
}
