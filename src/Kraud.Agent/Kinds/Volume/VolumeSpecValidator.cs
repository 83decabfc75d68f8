using Kraud.Zfs.Names;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// Checks a spec before anything on the host is touched. Throws <see cref="PermanentReconcileException"/>
/// naming the first bad field (for example `spec.sizeBytes: must be greater than 0`).
/// </summary>
public static class VolumeSpecValidator
{
    /// <summary>zvol sizes must be a multiple of the volblocksize; 16 KiB is OpenZFS 2.2+'s default.</summary>
    public const long VolumeBlock = 16384;

    /// <summary>Properties the agent owns or that can only be given at create time.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "refquota", "volsize", "refreservation", "mountpoint", "sharenfs", "sharesmb", "canmount", "volblocksize",
        "encryption", "keyformat", "keylocation", "pbkdf2iters", "casesensitivity", "normalization", "utf8only",
        "volmode", "zoned", "name", "type",
    };

    public static void ValidateId(string id) => Wrap("id", () => ZfsNames.CheckComponent("id", id));

    /// <param name="selfHost">This agent's host id when known (a volume may not replicate to its own host).</param>
    public static void Validate(VolumeSpec spec, string? selfHost = null)
    {
        Wrap("spec.pool", () => ZfsNames.CheckPool("pool", spec.Pool));
        if (spec.Class is not ("nfs" or "lv2")) Fail("spec.class", $"'{spec.Class}' is not one of nfs, lv2");
        if (spec.SizeBytes <= 0) Fail("spec.sizeBytes", $"{spec.SizeBytes} must be greater than 0");
        if (spec.Class == "lv2" && spec.SizeBytes % VolumeBlock != 0)
            Fail("spec.sizeBytes", $"{spec.SizeBytes} is not a multiple of {VolumeBlock} (the zvol block size)");
        if (spec.Properties is not null)
            foreach (var (k, v) in spec.Properties)
            {
                string f = "spec.properties." + k;
                if (!IsPropertyName(k)) Fail(f, "not a property name");
                if (!IsSpecPropertyName(k)) Fail(f, "is set by the agent, not by the spec");
                if (v is null || v.Length == 0 || v.Length > 1024 || v.Any(char.IsControl)) Fail(f, "value is empty, too long or has control characters");
            }
        var rules = spec.Snapshots?.Schedule;
        if (rules is not null)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < rules.Count; i++)
            {
                var r = new ScheduleRule(rules[i].Every ?? "", rules[i].Keep);
                if (r.Problem() is string p) Fail($"spec.snapshots.schedule[{i}]", p);
                if (!seen.Add(r.Every)) Fail($"spec.snapshots.schedule[{i}].every", $"'{r.Every}' appears twice");
            }
        }
        var clients = spec.Nfs?.Clients;
        if (clients is { Count: > 0 })
        {
            if (spec.Class != "nfs") Fail("spec.nfs", "only class nfs volumes can be exported");
            for (int i = 0; i < clients.Count; i++)
                if (new NfsClient(clients[i].Match ?? "", clients[i].Options ?? "").Problem() is string p) Fail($"spec.nfs.clients[{i}]", p);
        }
        if (spec.Restore is { } restore)
        {
            Wrap("spec.restore.snapshot", () => ZfsNames.CheckComponent("snapshot", restore.Snapshot));
            Wrap("spec.restore.requestId", () => ZfsNames.CheckComponent("requestId", restore.RequestId));
        }
        if (spec.Replication is { } replication)
        {
            ReplicationSpecValidator.Validate(replication, selfHost);
            if (replication.Role == ReplicationSpec.ReplicaRole && clients is { Count: > 0 })
                Fail("spec.nfs", "a replica is never exported; it gets clients when it becomes the source");
            if (replication.Role == ReplicationSpec.ReplicaRole && spec.Restore is not null)
                Fail("spec.restore", "a replica only follows its source; restore on the source");
        }
    }

    /// <summary>A native or user property name: a letter first, then letters, digits and `_ : . -` (so never an option).</summary>
    public static bool IsPropertyName(string k) =>
        k.Length is > 0 and <= 255 && char.IsAsciiLetter(k[0]) && k.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':' or '.' or '-');

    /// <summary>A property a spec may set: a valid name the agent does not own itself.</summary>
    public static bool IsSpecPropertyName(string k) =>
        IsPropertyName(k) && !Reserved.Contains(k) && !k.StartsWith("kraud:", StringComparison.Ordinal);

    /// <summary>Runs a ZFS name check; its complaint becomes a permanent failure naming <paramref name="field"/>.</summary>
    public static void Wrap(string field, Action check)
    {
        try { check(); }
        catch (InvalidZfsNameException e) { throw PermanentReconcileException.At(field, e.Message, e); }
    }

    private static void Fail(string field, string problem) => throw PermanentReconcileException.At(field, problem);
}
