using System.Text.RegularExpressions;
using Kraud.Oci;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>Checks a <see cref="PodSpec"/> before anything on the host is touched; the first problem is permanent and names `spec.&lt;path&gt;`.</summary>
public static partial class PodSpecValidator
{
    public const int MaxVcpus = 64;
    public const long MinMemoryMiB = 32, MaxMemoryMiB = 1L << 20;
    /// <summary>Restart policies of the VM as a whole.</summary>
    public static readonly string[] RestartPolicies = ["always", "on-failure", "never"];

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex ResourceId();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();

    private static PermanentReconcileException Bad(string field, string problem) => PermanentReconcileException.At("spec." + field, problem);

    /// <summary>The resource id: it names the VM's directory, the tap's mark and the image owner.</summary>
    public static void ValidateId(string id)
    {
        if (!ResourceId().IsMatch(id)) throw PermanentReconcileException.At("id", $"'{id}' is not a valid pod id");
    }

    public static void Validate(PodSpec spec)
    {
        var r = spec.Resources ?? throw Bad("resources", "missing");
        if (r.Vcpus is < 1 or > MaxVcpus) throw Bad("resources.vcpus", $"{r.Vcpus} is outside 1..{MaxVcpus}");
        if (r.MemoryMiB is < MinMemoryMiB or > MaxMemoryMiB) throw Bad("resources.memoryMiB", $"{r.MemoryMiB} is outside {MinMemoryMiB}..{MaxMemoryMiB}");
        if (string.IsNullOrEmpty(spec.Guest)) throw Bad("guest", "missing");
        if (!GuestPackage.IsValidName(spec.Guest)) throw Bad("guest", $"'{spec.Guest}' is not a guest package name");
        if (spec.Restart is not null && !RestartPolicies.Contains(spec.Restart))
            throw Bad("restart", $"'{spec.Restart}' must be always, on-failure or never");

        var volumes = new HashSet<string>(StringComparer.Ordinal);
        var vs = spec.Volumes ?? [];
        for (int i = 0; i < vs.Count; i++)
        {
            var v = vs[i] ?? throw Bad($"volumes[{i}]", "null");
            if (v.Name is null || !DnsLabel().IsMatch(v.Name)) throw Bad($"volumes[{i}].name", $"'{v.Name}' is not a name (lower-case letters, digits, '-')");
            if (!volumes.Add(v.Name)) throw Bad($"volumes[{i}].name", $"'{v.Name}' is declared twice");
            if (v.Volume is null || !ResourceId().IsMatch(v.Volume)) throw Bad($"volumes[{i}].volume", $"'{v.Volume}' is not a Volume id");
        }

        var cs = spec.Containers ?? [];
        if (cs.Count == 0) throw Bad("containers", "at least one container is required");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < cs.Count; i++)
        {
            string at = $"containers[{i}]";
            var c = cs[i] ?? throw Bad(at, "null");
            if (c.Name is null || !DnsLabel().IsMatch(c.Name)) throw Bad($"{at}.name", $"'{c.Name}' is not a container name (lower-case letters, digits, '-', at most 63)");
            if (!names.Add(c.Name)) throw Bad($"{at}.name", $"'{c.Name}' is used twice");
            ValidateImage(c.Image, $"{at}.image");
            if (c.Process?.Cmd is { } cmd && cmd.Any(a => a is null)) throw Bad($"{at}.process.cmd", "holds null");
            if (c.Process?.Workdir is { Length: > 0 } wd && !wd.StartsWith('/')) throw Bad($"{at}.process.workdir", $"'{wd}' is not an absolute path");
            if (c.Lifecycle is { } l)
            {
                if (l.RestartDelayMs < 0) throw Bad($"{at}.lifecycle.restartDelayMs", $"{l.RestartDelayMs} is negative");
                if (l.MaxRestarts < 0) throw Bad($"{at}.lifecycle.maxRestarts", $"{l.MaxRestarts} is negative");
            }
            var mounts = c.VolumeMounts ?? [];
            for (int j = 0; j < mounts.Count; j++)
            {
                string mat = $"{at}.volumeMounts[{j}]";
                var m = mounts[j] ?? throw Bad(mat, "null");
                if (m.Volume is null || !volumes.Contains(m.Volume)) throw Bad($"{mat}.volume", $"'{m.Volume}' is not declared in spec.volumes");
                if (m.GuestPath is null || !m.GuestPath.StartsWith('/')) throw Bad($"{mat}.guestPath", $"'{m.GuestPath}' is not an absolute path");
                if (m.VolumePath is { } vp && (vp.StartsWith('/') || vp.Split('/').Contains(".."))) throw Bad($"{mat}.volumePath", $"'{vp}' must be relative without '..'");
            }
        }

        if (spec.Network is { } n)
        {
            NetSpecChecks.Address(n.Ip6, "network.ip6", ipv6: true);
            if (n.Ip4 is not null) NetSpecChecks.Address(n.Ip4, "network.ip4", ipv6: false);
            if (n.Vpc is not null && string.IsNullOrWhiteSpace(n.Vpc)) throw Bad("network.vpc", "empty (the id of the Vpc the pod is in)");
            var ns = n.Nameservers ?? [];
            for (int i = 0; i < ns.Count; i++)
                if (ns[i] is null || !System.Net.IPAddress.TryParse(ns[i], out _)) throw Bad($"network.nameservers[{i}]", $"'{ns[i]}' is not an IP address");
        }
    }

    private static void ValidateImage(PodImage? image, string at)
    {
        if (image is null) throw Bad(at, "missing");
        if (image.IsBali)
        {
            if (image.Ref is not null || image.Digest is not null) throw Bad(at, "either ref (and digest) or bali (and sha256), not both");
            if (!Uri.TryCreate(image.Bali, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http" or "file"))
                throw Bad($"{at}.bali", "is not an https, http or file URL");
            if (image.Sha256 is null || !Sha256Hex().IsMatch(image.Sha256)) throw Bad($"{at}.sha256", "must be 64 lower-case hex digits (the file's sha256)");
            return;
        }
        if (image.Sha256 is not null) throw Bad($"{at}.sha256", "belongs to a bali image");
        if (string.IsNullOrEmpty(image.Ref)) throw Bad($"{at}.ref", "missing (or give bali and sha256)");
        if (!ImageReference.TryParse(image.Ref, out var reference, out string? error)) throw Bad($"{at}.ref", error ?? "not an image reference");
        if (image.Digest is not null)
        {
            if (!Kraud.Oci.Digest.TryParse(image.Digest, out var d, out string? derr)) throw Bad($"{at}.digest", derr ?? "not a digest");
            if (reference.Digest is { } inRef && inRef != d) throw Bad($"{at}.digest", $"{d} differs from the digest in ref ({inRef})");
        }
    }

    /// <summary>The reference to pull: ref pinned to digest when one is given.</summary>
    public static ImageReference ReferenceOf(PodImage image)
    {
        var r = ImageReference.Parse(image.Ref!);
        return image.Digest is null ? r : r.WithDigest(Kraud.Oci.Digest.Parse(image.Digest));
    }
}
