using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// The directory a share's virtiofsd serves. Debian's virtiofsd (QEMU 7.2) has no read-only option, so a read-only
/// share is served from a read-only bind mount of its directory at &lt;podDir&gt;/ro-&lt;tag&gt;: the host refuses the
/// guest's writes, whatever the guest does. Both daemon backends (child processes and systemd units) use these views.
/// </summary>
public static class ReadOnlyShareViews
{
    /// <summary>The directory to serve for <paramref name="share"/>: its own, or a read-only view of it made now.</summary>
    public static string SourceOf(string podDir, PodShare share)
    {
        if (!share.ReadOnly) return share.Directory;
        string view = Path.Combine(podDir, "ro-" + share.Tag);
        Directory.CreateDirectory(view);
        Mounts.BindReadOnly(share.Directory, view);
        return view;
    }

    /// <summary>Unmounts every view of the pod and removes their directories (after its daemons stopped).</summary>
    public static void RemoveAll(string id, string podDir, ILogger log)
    {
        foreach (var mount in Mounts.Below(podDir))
        {
            Mounts.Detach(mount);
            log.LogInformation("pod {Id}: read-only share view {Mount} unmounted", id, mount);
        }
        foreach (var dir in Directory.EnumerateDirectories(podDir, "ro-fs*")) Directory.Delete(dir);
    }
}
