using System.Buffers.Text;
using System.Text;

namespace Kraud.Nats.Internal;

/// <summary>Parses a header block: "NATS/1.0[ code[ text]]" then "Key: Value" lines then a blank line.</summary>
internal static class HeaderParser
{
    public static NatsHeaders Parse(ReadOnlySpan<byte> block)
    {
        var h = new NatsHeaders();
        var nl = block.IndexOf("\r\n"u8);
        var first = nl < 0 ? block : block[..nl];
        if (!first.StartsWith("NATS/1.0"u8)) throw new NatsException("header block does not start with NATS/1.0");
        var status = first[8..].TrimStart((byte)' ');
        if (status.Length >= 3 && Utf8Parser.TryParse(status[..3], out int code, out var used) && used == 3)
        {
            h.Code = code;
            h.MessageText = Encoding.UTF8.GetString(status[3..].Trim((byte)' '));
        }
        var rest = nl < 0 ? default : block[(nl + 2)..];
        while (rest.Length > 0)
        {
            nl = rest.IndexOf("\r\n"u8);
            var line = nl < 0 ? rest : rest[..nl];
            rest = nl < 0 ? default : rest[(nl + 2)..];
            if (line.Length == 0) continue;
            var colon = line.IndexOf((byte)':');
            if (colon <= 0) continue; // tolerate junk lines rather than drop the message
            var key = Encoding.UTF8.GetString(line[..colon]);
            var value = Encoding.UTF8.GetString(line[(colon + 1)..].Trim((byte)' '));
            h.AddParsed(key, value);
        }
        return h;
    }
}
