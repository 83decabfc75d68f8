using System.Text.Json;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// An installed guest package, `&lt;guestDir&gt;/&lt;name&gt;/cradle.json` (version 2) and the kernel and initrd it names,
/// each a file name inside the package directory. cradle.json is the package's own file, so fields beside
/// `version` and `kernel` are left for the guest (not refused).
/// </summary>
public sealed record GuestPackage(string Name, string Directory, string Kernel, string? Initrd, string? Cmdline)
{
    public const int Version = 2;

    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Reads package <paramref name="name"/>; anything missing or wrong is permanent and names spec.guest.</summary>
    public static GuestPackage Load(string guestDir, string name)
    {
        static PermanentReconcileException Bad(string problem) => PermanentReconcileException.At("spec.guest", problem);
        if (!IsValidName(name)) throw Bad($"'{name}' is not a guest package name");
        string dir = Path.Combine(guestDir, name);
        string file = Path.Combine(dir, "cradle.json");
        if (!File.Exists(file)) throw Bad($"guest package '{name}' is not installed ({file} does not exist)");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw Bad($"{file} is not valid JSON ({e.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad($"{file} is not a JSON object");
            if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version) || version != Version)
                throw Bad($"{file}: version must be {Version}");
            if (!root.TryGetProperty("kernel", out var k) || k.ValueKind != JsonValueKind.Object) throw Bad($"{file}: kernel section missing");
            string kernel = FileIn(dir, file, k, "kernel", required: true)!;
            string? initrd = FileIn(dir, file, k, "initrd", required: false);
            string? cmdline = k.TryGetProperty("cmdline", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            return new GuestPackage(name, dir, kernel, initrd, cmdline);
        }

        static string? FileIn(string dir, string file, JsonElement section, string key, bool required)
        {
            if (!section.TryGetProperty(key, out var e) || e.ValueKind == JsonValueKind.Null)
                return required ? throw Bad($"{file}: kernel.{key} missing") : null;
            if (e.ValueKind != JsonValueKind.String) throw Bad($"{file}: kernel.{key} is not a string");
            string rel = e.GetString()!;
            if (rel.Length == 0 || rel.Contains('/') || rel.Contains('\0') || rel is "." or "..")
                throw Bad($"{file}: kernel.{key} '{rel}' must be a file name in the package (no '/' or '..')");
            string path = Path.Combine(dir, rel);
            if (!File.Exists(path)) throw Bad($"{file}: kernel.{key} {path} does not exist");
            return path;
        }
    }
}
