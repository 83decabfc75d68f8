using System.Text.RegularExpressions;

namespace Kraud.Agent.Config;

/// <summary>Checks values, not just types: a host id the subjects can carry, URLs we can dial, sane limits.</summary>
internal static partial class ConfigValidator
{
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    internal static partial Regex HostId();

    internal static void Validate(AgentConfig c, string file, Dictionary<string, string> origins)
    {
        string Src(string key) => origins.TryGetValue(key, out var s) ? s : file;
        void Fail(string key, string problem) => throw new ConfigException(Src(key), key, problem);

        if (c.Host.Length == 0) Fail("host", "required: the host id this agent serves, e.g. \"h1\"");
        if (!HostId().IsMatch(c.Host)) Fail("host", $"\"{c.Host}\" is not a valid host id (lower-case letters, digits and '-', starting with a letter or digit, at most 63)");

        if (c.Nats.Servers.Count == 0) Fail("nats.servers", "needs at least one server URL, e.g. \"nats://127.0.0.1:4222\"");
        for (int i = 0; i < c.Nats.Servers.Count; i++)
        {
            string key = $"nats.servers[{i}]";
            string s = c.Nats.Servers[i];
            if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls") || uri.Host.Length == 0)
                throw new ConfigException(origins.TryGetValue(key, out var o) ? o : Src("nats.servers"), key, $"\"{Redaction.Urls(s)}\" is not a nats:// or tls:// URL with a host");
        }
        if (c.Nats.User is not null && c.Nats.Password is null) Fail("nats.password", "required when nats.user is set");
        if (c.Nats.Token is not null && c.Nats.User is not null) Fail("nats.token", "set either nats.token or nats.user/password, not both");
        int methods = (c.Nats.User is not null ? 1 : 0) + (c.Nats.Token is not null ? 1 : 0) + (c.Nats.CredsFile is not null ? 1 : 0) + (c.Nats.NkeyFile is not null ? 1 : 0);
        if (methods > 1) Fail(c.Nats.CredsFile is not null ? "nats.credsFile" : "nats.nkeyFile", "set one way to authenticate: nats.user/password, nats.token, nats.credsFile or nats.nkeyFile");
        if ((c.Nats.CertFile is null) != (c.Nats.KeyFile is null)) Fail(c.Nats.CertFile is null ? "nats.certFile" : "nats.keyFile", "nats.certFile and nats.keyFile go together (mutual TLS)");
        foreach (var (key, path) in new[] { ("nats.caFile", c.Nats.CaFile), ("nats.certFile", c.Nats.CertFile), ("nats.keyFile", c.Nats.KeyFile), ("nats.credsFile", c.Nats.CredsFile), ("nats.nkeyFile", c.Nats.NkeyFile) })
        {
            if (path is null) continue;
            if (!File.Exists(path)) Fail(key, $"file \"{path}\" does not exist");
            // Files that hold a private key or a seed must not be readable by every user of the host.
            if (key is "nats.keyFile" or "nats.credsFile" or "nats.nkeyFile" && SecretFiles.ReadableByOthers(path) is { } mode)
                Fail(key, $"file \"{path}\" holds a secret and is readable by others (mode {mode}); chmod o-rwx it");
        }

        if (!Path.IsPathRooted(c.StateDir)) Fail("stateDir", $"\"{c.StateDir}\" must be an absolute path");
        if (c.Concurrency is < 1 or > 1024) Fail("concurrency", $"{c.Concurrency} is out of range 1..1024");
        if (c.ShutdownGraceSeconds is < 0 or > 3600) Fail("shutdownGraceSeconds", $"{c.ShutdownGraceSeconds} is out of range 0..3600");
        if (c.Replicas is not (1 or 3 or 5)) Fail("replicas", $"{c.Replicas} must be 1 (one server) or 3 or 5 (a cluster)");

        if (c.Log.Target is not ("auto" or "journal" or "stderr")) Fail("log.target", $"\"{c.Log.Target}\" must be auto, journal or stderr");
        if (Kraud.Systemd.LogLevels.Parse(c.Log.Level) is null) Fail("log.level", $"\"{c.Log.Level}\" must be {Kraud.Systemd.LogLevels.Accepted}");
        if (!Path.IsPathRooted(c.Log.JournalSocket)) Fail("log.journalSocket", "must be an absolute path");

        if (!Path.IsPathRooted(c.GuestDir)) Fail("guestDir", "must be an absolute path");
        if (c.AllocatableVcpus is < 0 or > 65536) Fail("allocatableVcpus", $"{c.AllocatableVcpus} is out of range 0..65536 (0: the host's CPU count)");
        if (c.VmSupervisor is not ("auto" or "systemd" or "child")) Fail("vmSupervisor", $"\"{c.VmSupervisor}\" must be auto, systemd or child");
        for (int i = 0; i < c.TrustedImageKeys.Count; i++)
            if (!Kraud.Oci.BaliIdentity.TryParse(c.TrustedImageKeys[i], out _, out string? error))
                Fail($"trustedImageKeys[{i}]", $"is not a bali identity ({error})");
        for (int i = 0; i < c.Registries.Count; i++)
        {
            var r = c.Registries[i];
            if (r.Host.Length == 0 || r.Host.Contains('/') || r.Host.Contains('@')) Fail($"registries[{i}].host", $"\"{r.Host}\" must be a registry host[:port]");
            if (r.CaFile is { } ca && !Path.IsPathRooted(ca)) Fail($"registries[{i}].caFile", "must be an absolute path");
            if ((r.Username is null) != (r.Password is null)) Fail($"registries[{i}].password", "username and password go together");
        }
        if (c.ImageCache.MaxBytes < 0) Fail("imageCache.maxBytes", $"{c.ImageCache.MaxBytes} must not be negative");
        if (c.ImageCache.GraceSeconds < 0) Fail("imageCache.graceSeconds", $"{c.ImageCache.GraceSeconds} must not be negative");

        var rc = c.Replication;
        if (rc.MaxTransfers is < 1 or > 64) Fail("replication.maxTransfers", $"{rc.MaxTransfers} is out of range 1..64");
        bool any = rc.Listen is not null || rc.CertFile is not null || rc.KeyFile is not null || rc.CaFile is not null;
        if (any)
            foreach (var (key, path) in new[] { ("replication.certFile", rc.CertFile), ("replication.keyFile", rc.KeyFile), ("replication.caFile", rc.CaFile) })
            {
                if (path is null) Fail(key, "required with any replication key: certFile, keyFile and caFile go together (mutual TLS)");
                if (!File.Exists(path)) Fail(key, $"file \"{path}\" does not exist");
                if (key == "replication.keyFile" && SecretFiles.ReadableByOthers(path!) is { } mode)
                    Fail(key, $"file \"{path}\" holds a secret and is readable by others (mode {mode}); chmod o-rwx it");
            }
        if (rc.Listen is { } listen && !(System.Net.IPEndPoint.TryParse(listen, out var ep) && ep.Port > 0 && listen.EndsWith(":" + ep.Port, StringComparison.Ordinal)))
            Fail("replication.listen", $"\"{listen}\" is not ip:port or [ipv6]:port (an address of this host, port 1..65535)");
    }
}
