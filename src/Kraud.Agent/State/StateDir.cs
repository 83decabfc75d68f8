namespace Kraud.Agent.State;

/// <summary>
/// Files and directories of the agent's state dir: owner only (0700 directories, 0600 files) whatever the umask,
/// since they hold keys and what the host runs. Writes replace a file whole (temp file, then rename).
/// </summary>
public static class StateDir
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the state dir (or makes an existing one owner-only) at start.</summary>
    public static void Prepare(string stateDir)
    {
        CreateDirectory(stateDir);
        if ((File.GetUnixFileMode(stateDir) & ~DirectoryMode) != 0) File.SetUnixFileMode(stateDir, DirectoryMode);
    }

    /// <summary>Creates <paramref name="path"/> and its missing parents, each 0700 (.NET gives the mode to the last one only).</summary>
    public static void CreateDirectory(string path)
    {
        if (Directory.Exists(path)) return;
        if (Path.GetDirectoryName(path) is { Length: > 0 } parent) CreateDirectory(parent);
        Directory.CreateDirectory(path, DirectoryMode);
    }

    public static void WriteFile(string path, string text) => WriteFile(path, System.Text.Encoding.UTF8.GetBytes(text));

    public static void WriteFile(string path, ReadOnlySpan<byte> bytes)
    {
        string tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, new FileStreamOptions { Mode = System.IO.FileMode.Create, Access = FileAccess.Write, UnixCreateMode = FileMode }))
            fs.Write(bytes);
        File.Move(tmp, path, overwrite: true);
    }
}
