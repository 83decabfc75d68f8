using System.Diagnostics;
using Kraud.Systemd.DBus;

namespace Kraud.Systemd.DBus.Tests;

public sealed class UnitNameTests
{
    // Each expectation is what `systemd-escape -- STRING` (systemd 254) prints.
    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("web-1", "web\\x2d1")]
    [InlineData("a/b", "a-b")]
    [InlineData("/", "-")]
    [InlineData("-", "\\x2d")]
    [InlineData(".hidden", "\\x2ehidden")]
    [InlineData("a.b", "a.b")]
    [InlineData("a..b", "a..b")]
    [InlineData("x:y_z", "x:y_z")]
    [InlineData("Ab9", "Ab9")]
    [InlineData("9a", "9a")]
    [InlineData("back\\slash", "back\\x5cslash")]
    [InlineData("sp ace", "sp\\x20ace")]
    [InlineData("tab\tx", "tab\\x09x")]
    [InlineData("@", "\\x40")]
    [InlineData("ümlaut", "\\xc3\\xbcmlaut")]
    [InlineData("", "")]
    public void Escape_matches_systemd_escape(string value, string escaped)
    {
        Assert.Equal(escaped, UnitName.Escape(value));
        Assert.Equal(value, UnitName.Unescape(escaped));
    }

    [Theory]
    [InlineData("a-b", "a/b")]          // unescaping turns a dash into a slash, as %I does
    [InlineData("x\\x2Ey", "x.y")]      // upper-case hex is read too
    [InlineData("web\\x2d1", "web-1")]
    public void Unescape_matches_systemd_escape_u(string escaped, string value) => Assert.Equal(value, UnitName.Unescape(escaped));

    [Theory]
    [InlineData("bad\\xZZ")]
    [InlineData("bad\\")]
    [InlineData("bad\\x4")]
    [InlineData("bad\\y41")]
    [InlineData("\\xff")]               // a byte that is no UTF-8
    public void Unescape_refuses_what_systemd_escape_u_refuses(string escaped) =>
        Assert.Throws<FormatException>(() => UnitName.Unescape(escaped));

    [Fact]
    public void Escape_agrees_with_systemd_escape_on_many_strings()
    {
        // Strings drawn from every class the escaper treats differently: plain, kept punctuation, dash, slash,
        // backslash, dots (leading or not), control bytes, multi-byte UTF-8.
        var random = new Random(20261205);
        const string alphabet = "az09AZ:_.-/\\ @%\u0001\u007fé€😀";
        var inputs = Enumerable.Range(0, 300).Select(_ =>
        {
            var chars = new System.Text.StringBuilder();
            int length = random.Next(1, 12);
            while (chars.Length < length)
            {
                int i = random.Next(alphabet.Length);
                chars.Append(char.IsHighSurrogate(alphabet[i]) ? alphabet.Substring(i, 2) : char.IsLowSurrogate(alphabet[i]) ? "x" : alphabet[i].ToString());
            }
            return chars.ToString();
        }).ToList();

        var expected = SystemdEscape(inputs);
        for (int i = 0; i < inputs.Count; i++)
        {
            Assert.True(expected[i] == UnitName.Escape(inputs[i]), $"'{inputs[i]}': systemd-escape says '{expected[i]}', we say '{UnitName.Escape(inputs[i])}'");
            Assert.Equal(inputs[i], UnitName.Unescape(expected[i]));
        }
    }

    [Fact]
    public void An_instance_unit_is_built_and_parsed_like_systemd_escape_template()
    {
        Assert.Equal("kraud-vm@web\\x2d1.service", UnitName.ForInstance("kraud-vm@.service", "web-1"));
        Assert.True(UnitName.TryParseInstance("kraud-vm@web\\x2d1.service", out var template, out var instance));
        Assert.Equal("kraud-vm@.service", template);
        Assert.Equal("web\\x2d1", instance);
        Assert.Equal("web-1", UnitName.Unescape(instance));
        // An instance with dots keeps them: the type is after the last dot.
        Assert.True(UnitName.TryParseInstance("x@a.b.socket", out template, out instance));
        Assert.Equal(("x@.socket", "a.b"), (template, instance));
        Assert.False(UnitName.TryParseInstance("kraud-vm@.service", out _, out _));
        Assert.False(UnitName.TryParseInstance("plain.service", out _, out _));
        Assert.Throws<ArgumentException>(() => UnitName.ForInstance("plain.service", "x"));
        Assert.Throws<ArgumentException>(() => UnitName.ForInstance("kraud-vm@.service", ""));
        Assert.Throws<ArgumentException>(() => UnitName.ForInstance("kraud-vm@.service", new string('-', 100)));
    }

    [Theory]
    [InlineData("dbus.socket", "/org/freedesktop/systemd1/unit/dbus_2esocket")]
    [InlineData("kraud-vm@web\\x2d1.service", "/org/freedesktop/systemd1/unit/kraud_2dvm_40web_5cx2d1_2eservice")]
    [InlineData("9p.mount", "/org/freedesktop/systemd1/unit/_39p_2emount")]
    [InlineData("-.mount", "/org/freedesktop/systemd1/unit/_2d_2emount")]
    public void The_object_path_is_the_one_systemd_gives(string unit, string path) => Assert.Equal(path, UnitName.ObjectPath(unit));

    /// <summary>systemd-escape's answers, one per input, from one process.</summary>
    private static List<string> SystemdEscape(IReadOnlyList<string> inputs)
    {
        var exe = new[] { "/usr/bin/systemd-escape", "/bin/systemd-escape" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("systemd-escape is missing: install Debian's systemd package (tests/lane/prepare does)");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--");
        foreach (var s in inputs) psi.ArgumentList.Add(s);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        // It prints the escaped strings separated by spaces (escaped strings hold none).
        var results = output.TrimEnd('\n').Split(' ').ToList();
        Assert.Equal(inputs.Count, results.Count);
        return results;
    }
}
