using System.Text;

namespace Kraud.Systemd;

/// <summary>
/// Escapes what a log line must not carry raw. Messages and values hold text from outside (envelope fields,
/// command output): a NUL or a newline on stderr starts a new journal entry (and a leading "&lt;0&gt;" gives it a
/// priority), a carriage return or an escape sequence rewrites what a terminal shows, a lone surrogate (what is left
/// of invalid UTF-8) is silently replaced. Each such character becomes <c>\xNN</c> or <c>\u{NNNN}</c>, so one
/// message shows as what it is and can forge neither a field nor a line.
/// </summary>
public static class LogText
{
    /// <summary>
    /// Escapes C0 and C1 controls, DEL, lone surrogates, the Unicode line and paragraph separators and the bidi
    /// overrides. <paramref name="keepNewlines"/> keeps '\n' and '\t' (journald carries them in a length-prefixed
    /// field, so they cannot start a field; a multi-line value such as a register dump stays readable).
    /// </summary>
    public static string Escape(string text, bool keepNewlines)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb?.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }
            if (!NeedsEscape(c, keepNewlines))
            {
                sb?.Append(c);
                continue;
            }
            sb ??= new StringBuilder(text.Length + 16).Append(text, 0, i);
            if (c < 0x100) sb.Append("\\x").Append(Hex(c >> 4)).Append(Hex(c));
            else sb.Append("\\u{").Append(Hex(c >> 12)).Append(Hex(c >> 8)).Append(Hex(c >> 4)).Append(Hex(c)).Append('}');
        }
        return sb?.ToString() ?? text;
    }

    private static bool NeedsEscape(char c, bool keepNewlines) => c switch
    {
        '\n' or '\t' => !keepNewlines,
        < ' ' or '\x7f' => true,
        >= '\x80' and <= '\x9f' => true,
        '\u2028' or '\u2029' or '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069') => true,
        _ => char.IsSurrogate(c), // a lone one: a pair was taken whole above
    };

    private static char Hex(int n) => "0123456789abcdef"[n & 0xf];
}
