using Kraud.Net.WireGuard;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// The VPC private key: made once, kept base64 in STATE/vpc/INTERFACE.key with mode 0600, never sent anywhere.
/// Written to a temporary file and renamed, so a crash never leaves a half-written key.
/// </summary>
public static class VpcKeyStore
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static string KeyPath(string stateDir, string interfaceName) => Path.Combine(stateDir, "vpc", interfaceName + ".key");

    /// <summary>The key kept for <paramref name="interfaceName"/>, or null when there is none; never creates one.</summary>
    public static WgKey? TryLoad(string stateDir, string interfaceName)
    {
        string path = KeyPath(stateDir, interfaceName);
        if (!File.Exists(path)) return null;
        return WgKey.TryParse(File.ReadAllText(path).Trim(), out var key) ? key : throw new InvalidDataException($"{path} does not hold a base64 WireGuard key");
    }

    public static WgKey LoadOrCreate(string stateDir, string interfaceName)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the VPC key store needs Unix file modes");
        string path = KeyPath(stateDir, interfaceName);
        if (File.Exists(path))
        {
            if ((File.GetUnixFileMode(path) & ~OwnerOnly) != 0) File.SetUnixFileMode(path, OwnerOnly);
            string text = File.ReadAllText(path).Trim();
            return WgKey.TryParse(text, out var existing) ? existing : throw new InvalidDataException($"{path} does not hold a base64 WireGuard key");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var key = WgKey.GeneratePrivate();
        string tmp = path + ".tmp";
        File.Delete(tmp);
        using (var fs = new FileStream(tmp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly }))
        using (var w = new StreamWriter(fs))
        {
            w.Write(key.ToString());
            w.Write('\n');
            w.Flush();
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, path);
        return key;
    }
}
