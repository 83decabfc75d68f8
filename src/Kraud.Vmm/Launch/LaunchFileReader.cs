using System.Text.Json;

namespace Kraud.Vmm.Launch;

/// <summary>
/// Reads a launch file strictly with <see cref="Utf8JsonReader"/>: unknown keys, wrong types, duplicates and
/// missing required keys are errors naming the key. Hand-written rather than source-generated because the VMM
/// process then maps a fraction of System.Text.Json's code (its RSS is measured against Firecracker's).
/// </summary>
public static class LaunchFileReader
{
    public static LaunchFile? Parse(ReadOnlySpan<byte> json, List<string> errors)
    {
        if (json.StartsWith("\uFEFF"u8)) json = json[3..]; // a UTF-8 byte order mark, as editors may write
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                errors.Add("the launch file must be a JSON object");
                return null;
            }
            var launch = new LaunchFile();
            var seen = new HashSet<string>();
            while (Next(ref reader) is { } key)
            {
                if (!seen.Add(key)) errors.Add($"'{key}' appears twice");
                switch (key)
                {
                    case "id": launch.Id = String(ref reader, key, errors) ?? ""; break;
                    case "vcpus": launch.Vcpus = (int)Integer(ref reader, key, errors, int.MaxValue); break;
                    case "memoryMiB": launch.MemoryMiB = Integer(ref reader, key, errors, long.MaxValue >> 20); break;
                    case "kernel": launch.Kernel = String(ref reader, key, errors) ?? ""; break;
                    case "initrd": launch.Initrd = NullableString(ref reader, key, errors); break;
                    case "cmdline": launch.Cmdline = String(ref reader, key, errors) ?? ""; break;
                    case "serialLog": launch.SerialLog = NullableString(ref reader, key, errors); break;
                    case "disks": launch.Disks = Array(ref reader, key, errors, ReadDisk); break;
                    case "nets": launch.Nets = Array(ref reader, key, errors, ReadNet); break;
                    case "shares": launch.Shares = Array(ref reader, key, errors, ReadShare); break;
                    default: errors.Add($"unknown key '{key}'"); reader.Skip(); break;
                }
            }
            foreach (var required in new[] { "id", "memoryMiB", "kernel" })
                if (!seen.Contains(required)) errors.Add($"'{required}' is required");
            if (reader.Read()) errors.Add("text follows the launch file's object");
            return errors.Count == 0 ? launch : null;
        }
        catch (JsonException e)
        {
            errors.Add($"not valid JSON: {e.Message}");
            return null;
        }
    }

    private static LaunchDisk ReadDisk(ref Utf8JsonReader reader, string at, List<string> errors)
    {
        var disk = new LaunchDisk();
        bool path = false;
        while (Next(ref reader) is { } key)
        {
            switch (key)
            {
                case "path": disk.Path = String(ref reader, $"{at}.path", errors) ?? ""; path = true; break;
                case "readOnly": disk.ReadOnly = Boolean(ref reader, $"{at}.readOnly", errors); break;
                default: errors.Add($"unknown key '{at}.{key}'"); reader.Skip(); break;
            }
        }
        if (!path) errors.Add($"'{at}.path' is required");
        return disk;
    }

    private static LaunchNet ReadNet(ref Utf8JsonReader reader, string at, List<string> errors)
    {
        var net = new LaunchNet();
        bool tap = false, mac = false;
        while (Next(ref reader) is { } key)
        {
            switch (key)
            {
                case "tap": net.Tap = String(ref reader, $"{at}.tap", errors) ?? ""; tap = true; break;
                case "mac": net.Mac = String(ref reader, $"{at}.mac", errors) ?? ""; mac = true; break;
                default: errors.Add($"unknown key '{at}.{key}'"); reader.Skip(); break;
            }
        }
        if (!tap) errors.Add($"'{at}.tap' is required");
        if (!mac) errors.Add($"'{at}.mac' is required");
        return net;
    }

    private static LaunchShare ReadShare(ref Utf8JsonReader reader, string at, List<string> errors)
    {
        var share = new LaunchShare();
        bool tag = false, socket = false;
        while (Next(ref reader) is { } key)
        {
            switch (key)
            {
                case "tag": share.Tag = String(ref reader, $"{at}.tag", errors) ?? ""; tag = true; break;
                case "socket": share.Socket = String(ref reader, $"{at}.socket", errors) ?? ""; socket = true; break;
                default: errors.Add($"unknown key '{at}.{key}'"); reader.Skip(); break;
            }
        }
        if (!tag) errors.Add($"'{at}.tag' is required");
        if (!socket) errors.Add($"'{at}.socket' is required");
        return share;
    }

    private delegate T ItemReader<T>(ref Utf8JsonReader reader, string at, List<string> errors);

    /// <summary>The next property name of the current object, with the reader on its value; null at the object's end.</summary>
    private static string? Next(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.EndObject) return null;
        string key = reader.GetString()!;
        reader.Read();
        return key;
    }

    private static List<T> Array<T>(ref Utf8JsonReader reader, string key, List<string> errors, ItemReader<T> item)
    {
        var list = new List<T>();
        if (reader.TokenType == JsonTokenType.Null) return list;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            errors.Add($"'{key}' must be an array");
            reader.Skip();
            return list;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            string at = $"{key}[{list.Count}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                errors.Add($"'{at}' must be an object");
                reader.Skip();
                list.Add(default!);
                continue;
            }
            list.Add(item(ref reader, at, errors));
        }
        return list;
    }

    private static string? String(ref Utf8JsonReader reader, string key, List<string> errors)
    {
        if (reader.TokenType == JsonTokenType.String) return reader.GetString();
        errors.Add($"'{key}' must be a string");
        reader.Skip();
        return null;
    }

    private static string? NullableString(ref Utf8JsonReader reader, string key, List<string> errors) =>
        reader.TokenType == JsonTokenType.Null ? null : String(ref reader, key, errors);

    private static long Integer(ref Utf8JsonReader reader, string key, List<string> errors, long max)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long v) && v >= 0 && v <= max) return v;
        errors.Add($"'{key}' must be a whole number from 0 to {max}");
        reader.Skip();
        return 0;
    }

    private static bool Boolean(ref Utf8JsonReader reader, string key, List<string> errors)
    {
        if (reader.TokenType is JsonTokenType.True or JsonTokenType.False) return reader.GetBoolean();
        errors.Add($"'{key}' must be true or false");
        reader.Skip();
        return false;
    }
}
