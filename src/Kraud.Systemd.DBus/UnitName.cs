using System.Text;

namespace Kraud.Systemd.DBus;

/// <summary>
/// Unit names as systemd builds and reads them: template instances (`name@instance.type`) with the instance
/// escaped the way `systemd-escape` does, and the D-Bus object path of a unit.
/// </summary>
/// <remarks>
/// systemd-escape (unit_name_escape in systemd's src/basic/unit-name.c) works on UTF-8 bytes: `/` becomes `-`;
/// `-`, `\` and every byte outside `[0-9A-Za-z:_.]` become `\xNN` (lower-case hex); a leading `.` is escaped
/// too, so no unit name starts with a dot. Unescaping (unit_name_unescape, `systemd-escape -u`, the `%I`
/// specifier) turns `-` back into `/` and `\xNN` into its byte; `%i` is the instance as written. So a template
/// whose instances are escaped must use `%I` where it needs the original string, and a template that uses `%i`
/// must be given instances that need no escaping (then `web-1` stays `web-1`, but `%I` would read `web/1`).
/// </remarks>
public static class UnitName
{
    /// <summary>systemd's UNIT_NAME_MAX is 256 with the terminating NUL.</summary>
    public const int MaxLength = 255;

    /// <summary>The instance string as `systemd-escape STRING` prints it.</summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0')) throw new ArgumentException("a unit name cannot carry a NUL character", nameof(value));
        var bytes = Encoding.UTF8.GetBytes(value);
        var sb = new StringBuilder(bytes.Length);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (b == (byte)'/') sb.Append('-');
            else if (IsPlain(b) && !(i == 0 && b == (byte)'.')) sb.Append((char)b);
            else sb.Append("\\x").Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xf));
        }
        return sb.ToString();
    }

    /// <summary>The original string of an escaped one, as `systemd-escape --unescape` and `%I` give it: `-` becomes
    /// `/`, `\xNN` its byte. A malformed `\x` escape or bytes that are not UTF-8 throw <see cref="FormatException"/>.</summary>
    public static string Unescape(string escaped)
    {
        ArgumentNullException.ThrowIfNull(escaped);
        var bytes = new List<byte>(escaped.Length);
        int plain = 0; // start of the run of characters since the last escape, copied as UTF-8
        for (int i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == '-')
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(escaped[plain..i]));
                bytes.Add((byte)'/');
                plain = i + 1;
                continue;
            }
            if (escaped[i] != '\\') continue;
            bytes.AddRange(Encoding.UTF8.GetBytes(escaped[plain..i]));
            if (i + 3 >= escaped.Length || escaped[i + 1] != 'x' || HexValue(escaped[i + 2]) < 0 || HexValue(escaped[i + 3]) < 0)
                throw new FormatException($"'{escaped}': the '\\' at {i} does not start a \\xNN escape");
            bytes.Add((byte)(HexValue(escaped[i + 2]) << 4 | HexValue(escaped[i + 3])));
            i += 3;
            plain = i + 1;
        }
        bytes.AddRange(Encoding.UTF8.GetBytes(escaped[plain..]));
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray()); }
        catch (DecoderFallbackException e) { throw new FormatException($"'{escaped}' unescapes to bytes that are not UTF-8", e); }
    }

    /// <summary>The unit of a template for one instance, escaped as `systemd-escape --template=TEMPLATE` does:
    /// (`kraud-vm@.service`, `web-1`) gives `kraud-vm@web\x2d1.service`, whose `%I` is `web-1`.</summary>
    public static string ForInstance(string template, string instance)
    {
        int at = template.IndexOf('@');
        int dot = template.LastIndexOf('.');
        if (at <= 0 || dot != at + 1 || dot == template.Length - 1)
            throw new ArgumentException($"'{template}' is not a template unit name (name@.type)", nameof(template));
        if (instance.Length == 0) throw new ArgumentException("an instance cannot be empty", nameof(instance));
        var name = string.Concat(template.AsSpan(0, at + 1), Escape(instance), template.AsSpan(dot));
        if (name.Length > MaxLength)
            throw new ArgumentException($"'{name}' is longer than systemd's {MaxLength} characters for a unit name", nameof(instance));
        return name;
    }

    /// <summary>Splits an instance unit (`kraud-vm@web\x2d1.service`) into its template (`kraud-vm@.service`) and
    /// its instance as written (`web\x2d1`, what `%i` gives; <see cref="Unescape"/> gives `%I`); false for a name
    /// that is not an instance of a template.</summary>
    public static bool TryParseInstance(string unit, out string template, out string instance)
    {
        template = instance = "";
        int at = unit.IndexOf('@');
        int dot = unit.LastIndexOf('.');
        if (at <= 0 || dot <= at + 1 || dot == unit.Length - 1) return false;
        instance = unit[(at + 1)..dot];
        template = string.Concat(unit.AsSpan(0, at + 1), unit.AsSpan(dot));
        return true;
    }

    /// <summary>The unit's object path under /org/freedesktop/systemd1/unit/, as systemd derives it (sd-bus's
    /// bus_label_escape): every byte but `[A-Za-z]`, and `[0-9]` after the first, becomes `_NN` in lower-case hex.
    /// Computing it spares a LoadUnit round trip and lets a watch subscribe before the unit is loaded.</summary>
    public static string ObjectPath(string unit)
    {
        if (string.IsNullOrEmpty(unit)) throw new ArgumentException("a unit name cannot be empty", nameof(unit));
        var bytes = Encoding.UTF8.GetBytes(unit);
        var sb = new StringBuilder("/org/freedesktop/systemd1/unit/", 31 + bytes.Length * 3);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            bool letter = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z';
            bool digit = b is >= (byte)'0' and <= (byte)'9';
            if (letter || (digit && i > 0)) sb.Append((char)b);
            else sb.Append('_').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xf));
        }
        return sb.ToString();
    }

    private static bool IsPlain(byte b) =>
        b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z'
            or (byte)':' or (byte)'_' or (byte)'.';

    private static char HexDigit(int v) => "0123456789abcdef"[v];

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
