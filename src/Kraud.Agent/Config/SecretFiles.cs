namespace Kraud.Agent.Config;

internal static class SecretFiles
{
    /// <summary>The file's mode in octal when users other than its owner and group can read it, else null.</summary>
    internal static string? ReadableByOthers(string path)
    {
        try
        {
            var mode = File.GetUnixFileMode(path);
            return (mode & UnixFileMode.OtherRead) != 0 ? Convert.ToString((int)mode, 8).PadLeft(4, '0') : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // reading it fails with its own error
        }
    }
}
