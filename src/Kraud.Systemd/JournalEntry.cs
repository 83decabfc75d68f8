using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Kraud.Systemd;

/// <summary>
/// Builds one entry of journald's native protocol: <c>KEY=value\n</c>, or for values with a newline the
/// binary-safe form <c>KEY\n</c> + little-endian u64 length + bytes + <c>\n</c>.
/// </summary>
public sealed class JournalEntry
{
    private readonly ArrayBufferWriter<byte> _buffer;

    public JournalEntry(int initialCapacity = 512) => _buffer = new ArrayBufferWriter<byte>(initialCapacity);

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public void Clear() => _buffer.ResetWrittenCount();

    /// <summary>Appends a field. <paramref name="key"/> must already be a valid journal field name.</summary>
    public void Add(string key, ReadOnlySpan<char> value)
    {
        WriteAscii(key);
        int byteCount = Encoding.UTF8.GetByteCount(value);
        if (value.IndexOf('\n') < 0)
        {
            WriteByte((byte)'=');
            int n = Encoding.UTF8.GetBytes(value, _buffer.GetSpan(byteCount));
            _buffer.Advance(n);
        }
        else
        {
            WriteByte((byte)'\n');
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), (ulong)byteCount);
            _buffer.Advance(8);
            int n = Encoding.UTF8.GetBytes(value, _buffer.GetSpan(byteCount));
            _buffer.Advance(n);
        }
        WriteByte((byte)'\n');
    }

    private void WriteAscii(string s)
    {
        var span = _buffer.GetSpan(s.Length);
        for (int i = 0; i < s.Length; i++) span[i] = (byte)s[i];
        _buffer.Advance(s.Length);
    }

    private void WriteByte(byte b)
    {
        _buffer.GetSpan(1)[0] = b;
        _buffer.Advance(1);
    }

    /// <summary>
    /// Turns a name like <c>requestId</c> or <c>Kind</c> into a journal field with our prefix:
    /// <c>KRAUD_REQUEST_ID</c>, <c>KRAUD_KIND</c>. Names already starting with KRAUD_ are kept.
    /// Returns null for names that cannot be made valid.
    /// </summary>
    public static string? FieldName(string name)
    {
        if (name.Length == 0 || name.Length > 48) return null;
        if (name.StartsWith("KRAUD_", StringComparison.Ordinal) && IsValidField(name)) return name;
        var sb = new StringBuilder("KRAUD_", 6 + name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsAsciiLetterUpper(c) && i > 0 && (char.IsAsciiLetterLower(name[i - 1]) || char.IsAsciiDigit(name[i - 1]))) sb.Append('_');
            if (char.IsAsciiLetterOrDigit(c)) sb.Append(char.ToUpperInvariant(c));
            else if (c is '_' or '-' or '.') sb.Append('_');
            else return null;
        }
        return sb.ToString();
    }

    private static bool IsValidField(string key)
    {
        foreach (char c in key)
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_')) return false;
        return key.Length <= 64 && key[0] != '_';
    }
}
