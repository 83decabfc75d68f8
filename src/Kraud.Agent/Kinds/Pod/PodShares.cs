using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// One virtio-fs share of a pod: a directory of an nfs volume (its dataset's mountpoint, or a subdirectory of it:
/// `volumePath`) served by a virtiofsd on <see cref="Socket"/>, which the VM finds by <see cref="Tag"/>.
/// <see cref="ReadOnly"/> is enforced on the host: the daemon serves a read-only bind mount of the directory.
/// </summary>
public sealed record PodShare(string Tag, string Volume, string VolumePath, bool ReadOnly, string Directory, string Socket);

/// <summary>
/// A pod's shares, planned from its spec: one per distinct (volume, volumePath, readOnly) among its containers'
/// mounts of nfs volumes, so two containers mounting the same directory the same way share one daemon. Kept in
/// &lt;RunDir&gt;/&lt;id&gt;/shares.json, which tells a later agent which volumes the pod uses and what to stop.
/// </summary>
public static class PodShares
{
    public const string FileName = "shares.json";

    /// <param name="filesystems">Each nfs volume of the pod (spec.volumes[].name) with its dataset's mountpoint.</param>
    public static List<PodShare> Plan(string podDir, PodSpec spec, IReadOnlyDictionary<string, string> filesystems)
    {
        var volumeIds = (spec.Volumes ?? []).ToDictionary(v => v.Name!, v => v.Volume!, StringComparer.Ordinal);
        var shares = new List<PodShare>();
        var containers = spec.Containers ?? [];
        for (int i = 0; i < containers.Count; i++)
        {
            var c = containers[i];
            for (int j = 0; j < (c.VolumeMounts ?? []).Count; j++)
            {
                var m = c.VolumeMounts![j];
                if (!filesystems.TryGetValue(m.Volume!, out var mountpoint)) continue;
                string volumePath = (m.VolumePath ?? "").Trim('/');
                if (shares.Any(s => s.Volume == volumeIds[m.Volume!] && s.VolumePath == volumePath && s.ReadOnly == m.ReadOnly)) continue;
                string tag = $"fs{shares.Count}";
                string directory = Inside(mountpoint, volumePath, $"spec.containers[{i}].volumeMounts[{j}].volumePath");
                shares.Add(new PodShare(tag, volumeIds[m.Volume!], volumePath, m.ReadOnly, directory, Path.Combine(podDir, tag + ".sock")));
            }
        }
        return shares;
    }

    /// <summary>The share a container's mount uses (its tag), null for a mount of a block volume.</summary>
    public static string? TagOf(IReadOnlyList<PodShare> shares, string volumeId, PodVolumeMount m) =>
        shares.FirstOrDefault(s => s.Volume == volumeId && s.VolumePath == (m.VolumePath ?? "").Trim('/') && s.ReadOnly == m.ReadOnly)?.Tag;

    /// <summary>
    /// The directory <paramref name="volumePath"/> below <paramref name="mountpoint"/>, created when missing. No
    /// component may be a symbolic link: the guest writes to the volume, and a link it planted (`data -> /etc`)
    /// must not make another pod's share serve a host directory.
    /// </summary>
    private static string Inside(string mountpoint, string volumePath, string field)
    {
        string dir = mountpoint;
        foreach (var part in volumePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part is "." or "..") throw PermanentReconcileException.At(field, $"'{volumePath}' must be relative without '..'");
            dir = Path.Combine(dir, part);
            var info = new DirectoryInfo(dir);
            if (info.LinkTarget is not null || (File.Exists(dir) && !info.Exists))
                throw PermanentReconcileException.At(field, $"'{volumePath}' is not a directory of the volume ({part} is a link or a file)");
            if (!info.Exists) System.IO.Directory.CreateDirectory(dir);
        }
        return dir;
    }

    /// <summary>observed.shares: each share with its daemon's pid (null while none runs).</summary>
    public static JsonArray Observed(IReadOnlyList<PodShare> shares, IReadOnlyDictionary<string, int>? pids) =>
        new(shares.Select(s => (JsonNode)new JsonObject
        {
            ["tag"] = s.Tag, ["volume"] = s.Volume, ["volumePath"] = s.VolumePath, ["readOnly"] = s.ReadOnly,
            ["daemonPid"] = pids is not null && pids.TryGetValue(s.Tag, out int pid) ? pid : null,
        }).ToArray());

    public static void Save(string podDir, IReadOnlyList<PodShare> shares) =>
        File.WriteAllBytes(Path.Combine(podDir, FileName), JsonSerializer.SerializeToUtf8Bytes(shares.ToList(), PodFilesJsonContext.Default.ListPodShare));

    /// <summary>The shares a pod's directory records (none when it has no file or an unreadable one).</summary>
    public static List<PodShare> Load(string podDir)
    {
        string file = Path.Combine(podDir, FileName);
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllBytes(file), PodFilesJsonContext.Default.ListPodShare) ?? [] : [];
        }
        catch (Exception e) when (e is IOException or JsonException) { return []; }
    }
}
