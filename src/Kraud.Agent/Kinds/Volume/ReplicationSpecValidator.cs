using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Kraud.Zfs.Names;
using Kraud.Zfs.Schedule;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// Checks `spec.replication` (replication.md) strictly: a field that belongs to the other role is an error, not
/// ignored, so a spec that means something else than it says never reaches the host.
/// </summary>
public static partial class ReplicationSpecValidator
{
    /// <summary>The recovery point objective may not be shorter than this (replication.md: `1m` at the least).</summary>
    public static readonly TimeSpan MinEvery = TimeSpan.FromMinutes(1);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex HostId();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsName();

    /// <param name="selfHost">This agent's host id, when known: a source may not replicate to itself nor a replica from itself.</param>
    public static void Validate(ReplicationSpec r, string? selfHost = null)
    {
        switch (r.Role)
        {
            case ReplicationSpec.SourceRole: ValidateSource(r, selfHost); break;
            case ReplicationSpec.ReplicaRole: ValidateReplica(r, selfHost); break;
            default: Fail("spec.replication.role", $"'{r.Role}' is not one of source, replica"); break;
        }
        if (r.Keep < 1 || r.Keep > ScheduleRule.MaxKeep)
            Fail("spec.replication.keep", $"{r.Keep} is not between 1 and {ScheduleRule.MaxKeep} (replication snapshots kept on each side)");
    }

    private static void ValidateSource(ReplicationSpec r, string? selfHost)
    {
        if (r.Source is not null) Fail("spec.replication.source", "only a replica names a source; a source lists targets");
        if (r.Targets is not { Count: > 0 }) Fail("spec.replication.targets", "a source needs at least one target");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < r.Targets!.Count; i++)
        {
            string f = $"spec.replication.targets[{i}]";
            CheckHost(f + ".host", r.Targets[i].Host, selfHost);
            if (!seen.Add(r.Targets[i].Host!)) Fail(f + ".host", $"'{r.Targets[i].Host}' appears twice");
            if (ParseAddress(r.Targets[i].Address) is null)
                Fail(f + ".address", $"'{r.Targets[i].Address}' is not host:port or [ipv6]:port with a port between 1 and 65535");
        }
        var every = ScheduleRule.ParsePeriod(r.Every);
        if (every is null) Fail("spec.replication.every", $"'{r.Every}' is not a positive <n>m, <n>h, <n>d or <n>w");
        if (every < MinEvery) Fail("spec.replication.every", $"'{r.Every}' is shorter than 1m");
        if (r.Handover is { } h)
        {
            if (h.To is null || !seen.Contains(h.To)) Fail("spec.replication.handover.to", $"'{h.To}' is not one of the targets");
            VolumeSpecValidator.Wrap("spec.replication.handover.requestId", () => ZfsNames.CheckComponent("requestId", h.RequestId));
        }
    }

    private static void ValidateReplica(ReplicationSpec r, string? selfHost)
    {
        if (r.Targets is not null) Fail("spec.replication.targets", "a replica has no targets (only its source sends)");
        if (r.Every is not null) Fail("spec.replication.every", "a replica has no schedule (its source's every decides)");
        if (r.Handover is not null) Fail("spec.replication.handover", "only a source hands over");
        if (r.Source is null) Fail("spec.replication.source", "a replica needs its source: { \"host\": \"h1\" }");
        CheckHost("spec.replication.source.host", r.Source!.Host, selfHost);
    }

    private static void CheckHost(string field, string? host, string? selfHost)
    {
        if (host is null || !HostId().IsMatch(host))
            Fail(field, $"'{host}' is not a host id (lower-case letters, digits and '-', starting with a letter or digit, at most 63)");
        if (selfHost is not null && host == selfHost) Fail(field, $"'{host}' is this host");
    }

    /// <summary>host:port, [ipv6]:port or ipv4:port as (host, port); null when it is none of them.</summary>
    public static (string Host, int Port)? ParseAddress(string? address)
    {
        if (string.IsNullOrEmpty(address) || address.Length > 300) return null;
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            return null;
        string host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            return IPAddress.TryParse(host, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? (host, port) : null;
        }
        if (host.Contains(':')) return null; // a bare IPv6 address needs brackets
        return DnsName().IsMatch(host) ? (host, port) : null;
    }

    private static void Fail(string field, string problem) => throw PermanentReconcileException.At(field, problem);
}
