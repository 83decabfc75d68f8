namespace Kraud.Zfs.Names;

/// <summary>A name from a spec that may not reach a ZFS command; the message names the field and the rule.</summary>
public sealed class InvalidZfsNameException(string field, string value, string rule)
    : ArgumentException($"{field} '{value}' is not a valid name: {rule}")
{
    public string Field { get; } = field;
    public string Value { get; } = value;
}

/// <summary>
/// OpenZFS name rules (zfs_namecheck.c), made stricter where a spec is concerned: every component is
/// [A-Za-z0-9_.:-], starts with an alphanumeric, is not '.' or '..', and a full name stays under 256 bytes
/// (ZFS_MAX_DATASET_NAME_LEN). Nothing here lets '@', '#', '/', '%', spaces or a leading '-' through.
/// </summary>
public static class ZfsNames
{
    public const int MaxNameLength = 255;
    /// <summary>A component kept short enough that pool/kraud/id@auto-1d-20261121T2000Z still fits.</summary>
    public const int MaxComponentLength = 200;

    /// <summary>One path component from a spec (pool, volume id, snapshot short name).</summary>
    public static string CheckComponent(string field, string? value)
    {
        if (string.IsNullOrEmpty(value)) throw new InvalidZfsNameException(field, value ?? "", "it is empty");
        if (value.Length > MaxComponentLength) throw new InvalidZfsNameException(field, value, $"longer than {MaxComponentLength} characters");
        if (value.Contains('@')) throw new InvalidZfsNameException(field, value, "'@' separates a snapshot and may not appear in it");
        if (value.Contains('/')) throw new InvalidZfsNameException(field, value, "'/' separates datasets and may not appear in it");
        if (value is "." or "..") throw new InvalidZfsNameException(field, value, "'.' and '..' are reserved");
        if (!char.IsAsciiLetterOrDigit(value[0])) throw new InvalidZfsNameException(field, value, "it must start with a letter or digit");
        foreach (char c in value)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
                throw new InvalidZfsNameException(field, value, $"character '{Printable(c)}' is not allowed (letters, digits, _ - . : only)");
        return value;
    }

    /// <summary>A pool name: a component that also must start with a letter and is not a reserved word.</summary>
    public static string CheckPool(string field, string? value)
    {
        CheckComponent(field, value);
        if (!char.IsAsciiLetter(value![0])) throw new InvalidZfsNameException(field, value, "a pool name must start with a letter");
        if (value is "mirror" or "raidz" or "draid" or "spare" or "log" || value.StartsWith("c0", StringComparison.Ordinal))
            throw new InvalidZfsNameException(field, value, "it is a reserved pool name");
        return value;
    }

    /// <summary>A full dataset name (pool/a/b): every component checked, no '@' or '#'.</summary>
    public static string CheckDataset(string value)
    {
        if (string.IsNullOrEmpty(value)) throw new InvalidZfsNameException("dataset", value ?? "", "it is empty");
        if (value.Length > MaxNameLength) throw new InvalidZfsNameException("dataset", value, $"longer than {MaxNameLength} bytes");
        var parts = value.Split('/');
        CheckPool("dataset", parts[0]);
        for (int i = 1; i < parts.Length; i++)
            if (parts[i].Length == 0) throw new InvalidZfsNameException("dataset", value, "it has an empty component");
            else CheckComponentOf(value, parts[i]);
        return value;
    }

    /// <summary>A full snapshot name (pool/a@snap).</summary>
    public static string CheckSnapshot(string value)
    {
        int at = value.IndexOf('@');
        if (at <= 0 || at == value.Length - 1) throw new InvalidZfsNameException("snapshot", value, "a snapshot is <dataset>@<name>");
        if (value.Length > MaxNameLength) throw new InvalidZfsNameException("snapshot", value, $"longer than {MaxNameLength} bytes");
        CheckDataset(value[..at]);
        CheckComponentOf(value, value[(at + 1)..]);
        return value;
    }

    /// <summary>A full bookmark name (pool/a#mark).</summary>
    public static string CheckBookmark(string value)
    {
        int at = value.IndexOf('#');
        if (at <= 0 || at == value.Length - 1) throw new InvalidZfsNameException("bookmark", value, "a bookmark is <dataset>#<name>");
        CheckDataset(value[..at]);
        CheckComponentOf(value, value[(at + 1)..]);
        return value;
    }

    /// <summary>The dataset of a snapshot or bookmark name.</summary>
    public static string DatasetOf(string name)
    {
        int i = name.IndexOfAny(['@', '#']);
        return i < 0 ? name : name[..i];
    }

    public static string PoolOf(string name)
    {
        string ds = DatasetOf(name);
        int i = ds.IndexOf('/');
        return i < 0 ? ds : ds[..i];
    }

    private static void CheckComponentOf(string whole, string part)
    {
        try { CheckComponent("name", part); }
        catch (InvalidZfsNameException e) { throw new InvalidZfsNameException("name", whole, e.Message); }
    }

    private static string Printable(char c) => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString();
}
