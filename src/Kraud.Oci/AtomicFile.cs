namespace Kraud.Oci;

/// <summary>Writes a file so that a crash leaves either the old or the new content, never a torn one.</summary>
internal static class AtomicFile
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        string dir = Path.GetDirectoryName(path)!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(temp, new FileStreamOptions
                   { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = Private }))
            {
                f.Write(content);
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            Native.FsyncDirectory(dir);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
