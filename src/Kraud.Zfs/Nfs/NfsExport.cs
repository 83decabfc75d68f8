using System.Security.Cryptography;
using System.Text;

namespace Kraud.Zfs.Nfs;

/// <summary>A volume's export: its mountpoint, a fixed fsid and its clients.</summary>
public sealed record NfsExport(string VolumeId, string Path, string Fsid, IReadOnlyList<NfsClient> Clients)
{
    /// <summary>
    /// A stable UUID fsid from the volume id: the same on every start and host, so clients keep their file
    /// handles across agent restarts and a re-import of the pool (an unset fsid can change with the device).
    /// </summary>
    public static string FsidFor(string volumeId)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes("kraud-volume:" + volumeId));
        string x = Convert.ToHexStringLower(h.AsSpan(0, 16));
        return $"{x[..8]}-{x[8..12]}-{x[12..16]}-{x[16..20]}-{x[20..32]}";
    }

    public bool SameAs(NfsExport other) =>
        VolumeId == other.VolumeId && Path == other.Path && Fsid == other.Fsid && Clients.SequenceEqual(other.Clients);
}
