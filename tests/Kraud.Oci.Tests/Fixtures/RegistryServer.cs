using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Kraud.Testing;

namespace Kraud.Oci.Tests.Fixtures;

/// <summary>How to run a registry: plain, TLS, basic auth (htpasswd) or bearer tokens from a token service.</summary>
public sealed record RegistryServerOptions
{
    public string? TlsCertificate { get; init; }
    public string? TlsKey { get; init; }
    public string? Htpasswd { get; init; }
    public TokenIssuer? Tokens { get; init; }
}

/// <summary>
/// Debian's docker-registry (distribution 2.8) on a free loopback port, with its storage in a temp dir; run by the
/// test itself (no systemd), killed on Dispose. Its access log is kept, so tests can count the requests it served.
/// </summary>
public sealed class RegistryServer : IDisposable
{
    private Process _process;
    private readonly StringBuilder _log = new();
    private readonly TempDir _dir;

    private RegistryServer(TempDir dir, int port, Process process)
    {
        _dir = dir;
        Port = port;
        _process = process;
        Follow(process);
    }

    private void Follow(Process process)
    {
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Kills the registry (SIGKILL: connections end mid-transfer), keeping its storage and port for <see cref="StartAgainAsync"/>.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>Starts the registry again after <see cref="Kill"/>: same configuration, storage and port.</summary>
    public async Task StartAgainAsync()
    {
        var psi = new ProcessStartInfo(Tool.Find("docker-registry")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(Path.Combine(_dir.Path, "config.yml"));
        _process.Dispose();
        _process = Process.Start(psi)!;
        Follow(_process);
        var p = _process;
        await Deadline.WaitUntilAsync(() => p.HasExited || FreePort.IsListening(Port), TimeSpan.FromSeconds(20), $"docker-registry on port {Port} again");
        if (p.HasExited) throw new InvalidOperationException($"docker-registry exited {p.ExitCode}: {Log}");
    }

    public int Port { get; }

    /// <summary>host:port, as image references name it.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public string StorageDir => Path.Combine(_dir.Path, "storage");

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Where the registry keeps a blob's bytes (manifests are blobs too): overwrite it to corrupt what it serves.</summary>
    public string BlobDataPath(Digest d) =>
        Path.Combine(StorageDir, "docker", "registry", "v2", "blobs", "sha256", d.Hex[..2], d.Hex, "data");

    /// <summary>How many GETs of this blob the registry has answered (from its access log).</summary>
    public int BlobGets(Digest d) => Log.Split('\n').Count(l => l.Contains($"\"GET /v2/") && l.Contains($"/blobs/{d} "));

    public static async Task<RegistryServer> StartAsync(RegistryServerOptions? options = null)
    {
        options ??= new RegistryServerOptions();
        string binary = Tool.Find("docker-registry");
        var dir = new TempDir("kraud-registry");
        int port = FreePort.Next();
        var yaml = new StringBuilder($"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir.Path, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
              secret: kraud-test-secret

            """);
        if (options.TlsCertificate is not null)
            yaml.Append($"  tls:\n    certificate: {options.TlsCertificate}\n    key: {options.TlsKey}\n");
        if (options.Htpasswd is not null)
            yaml.Append($"auth:\n  htpasswd:\n    realm: kraud-test\n    path: {options.Htpasswd}\n");
        if (options.Tokens is { } t)
            yaml.Append($"auth:\n  token:\n    realm: {t.Realm}\n    service: {t.Service}\n    issuer: {t.Issuer}\n    rootcertbundle: {t.CertificateFile}\n");
        string config = dir.Write("config.yml", yaml.ToString());

        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(config);
        var process = Process.Start(psi)!;
        var server = new RegistryServer(dir, port, process);
        try
        {
            await Deadline.WaitUntilAsync(() => process.HasExited || FreePort.IsListening(port), TimeSpan.FromSeconds(20), $"docker-registry on port {port}");
            if (process.HasExited) throw new InvalidOperationException($"docker-registry exited {process.ExitCode}: {server.Log}");
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }


    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        _dir.Dispose();
    }
}
