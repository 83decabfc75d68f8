using Kraud.Testing;
using Microsoft.Extensions.Logging;

namespace Kraud.Systemd.Tests;

/// <summary>The journald provider speaks the native protocol to a socket the test owns.</summary>
public sealed class JournaldLoggerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly JournalListener _journal;
    private readonly ILoggerFactory _loggers;

    public JournaldLoggerTests()
    {
        _journal = new JournalListener(_dir.File("journal.sock"));
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace)
            .AddProvider(new JournaldLoggerProvider(new JournalSocket(_journal.Path), "kraud-agent")));
    }

    [Fact]
    public void Sends_message_priority_identifier_category_and_scope_fields()
    {
        var log = _loggers.CreateLogger("Kraud.Agent.Work");
        using (log.BeginScope(new Dictionary<string, object?> { ["Kind"] = "Volume", ["Id"] = "vol-7f3a", ["requestId"] = "r-17" }))
            log.LogWarning("pool {Pool} is {Percent}% full", "tank", 91);

        var e = _journal.Receive(out bool memfd);
        Assert.False(memfd);
        Assert.Equal("pool tank is 91% full", e["MESSAGE"]);
        Assert.Equal("4", e["PRIORITY"]);
        Assert.Equal("kraud-agent", e["SYSLOG_IDENTIFIER"]);
        Assert.Equal("Kraud.Agent.Work", e["KRAUD_CATEGORY"]);
        Assert.Equal("Volume", e["KRAUD_KIND"]);
        Assert.Equal("vol-7f3a", e["KRAUD_ID"]);
        Assert.Equal("r-17", e["KRAUD_REQUEST_ID"]);
        Assert.Equal("tank", e["KRAUD_POOL"]);
        Assert.DoesNotContain(e.Keys, k => k.Contains("ORIGINAL", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(LogLevel.Critical, "2")]
    [InlineData(LogLevel.Error, "3")]
    [InlineData(LogLevel.Information, "6")]
    [InlineData(LogLevel.Debug, "7")]
    public void Maps_levels_to_syslog_priorities(LogLevel level, string priority)
    {
        _loggers.CreateLogger("t").Log(level, "x");
        Assert.Equal(priority, _journal.Receive(out _)["PRIORITY"]);
    }

    [Fact]
    public void Sends_values_with_newlines_in_the_binary_safe_form()
    {
        var log = _loggers.CreateLogger("t");
        using (log.BeginScope(new Dictionary<string, object?> { ["Output"] = "line one\nline two\n" }))
            log.LogError(new IOException("disk gone"), "zfs send failed");
        var e = _journal.Receive(out _);
        Assert.Equal("line one\nline two\n", e["KRAUD_OUTPUT"]);
        Assert.StartsWith("zfs send failed\nSystem.IO.IOException: disk gone", e["MESSAGE"]);
    }

    [Fact]
    public void Escapes_control_characters_from_outside_so_no_field_or_line_is_forged()
    {
        // What an envelope can carry: a NUL, a carriage return, a terminal escape, DEL, a C1 control, a lone
        // surrogate (the remains of invalid UTF-8) and a line that looks like a field.
        string hostile = "vol-1\0<0>PRIORITY=0\r\u001b[2Jfake\u007f\u0085\ud800\nKRAUD_ID=forged";
        var log = _loggers.CreateLogger("Kraud.Agent.Work");
        using (log.BeginScope(new Dictionary<string, object?> { ["Kind"] = "Volume", ["Id"] = hostile }))
            log.LogWarning("bad name {Name}", hostile);

        var e = _journal.Receive(out _);
        const string Escaped = "vol-1\\x00<0>PRIORITY=0\\x0d\\x1b[2Jfake\\x7f\\x85\\u{d800}\nKRAUD_ID=forged";
        Assert.Equal("bad name " + Escaped, e["MESSAGE"]);
        Assert.Equal(Escaped, e["KRAUD_ID"]);
        Assert.Equal(Escaped, e["KRAUD_NAME"]);
        Assert.Equal("4", e["PRIORITY"]);
        Assert.Equal(["KRAUD_CATEGORY", "KRAUD_ID", "KRAUD_KIND", "KRAUD_NAME", "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"], e.Keys.Order());
        // A multi-line value of our own (a register dump, command output) keeps its lines and tabs.
        Assert.Equal("a\tb\nc", LogText.Escape("a\tb\nc", keepNewlines: true));
        Assert.Equal("\u00e9\U0001F600", LogText.Escape("\u00e9\U0001F600", keepNewlines: false)); // printable text, pairs included, is left alone
    }

    [Fact]
    public void Sends_an_entry_bigger_than_a_datagram_through_a_sealed_memfd()
    {
        string big = new string('x', 1024 * 1024);
        _loggers.CreateLogger("t").LogInformation("big {Blob}", big);
        var e = _journal.Receive(out bool memfd);
        Assert.True(memfd, "a 1 MiB entry cannot go as one datagram; it must arrive as a passed memfd");
        Assert.Equal(big, e["KRAUD_BLOB"]);
        Assert.Equal("big " + big, e["MESSAGE"]);
    }

    [Fact]
    public void Falls_back_when_journald_is_not_there()
    {
        var writer = new StringWriter();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(
            new JournaldLoggerProvider(new JournalSocket(_dir.File("absent.sock")), "kraud-agent", new StderrLoggerProvider(writer))));
        loggers.CreateLogger("Kraud.Agent").LogInformation("still {What}", "logged");
        Assert.Contains("info  Kraud.Agent: still logged", writer.ToString());
    }

    [Fact]
    public void Reaches_a_journald_that_restarted_without_a_new_socket()
    {
        var log = _loggers.CreateLogger("t");
        log.LogInformation("before");
        Assert.Equal("before", _journal.Receive(out _)["MESSAGE"]);
        _journal.Dispose();
        log.LogInformation("while journald is down"); // lost, and must not break what follows
        using var restarted = new JournalListener(_journal.Path);
        log.LogInformation("after");
        Assert.Equal("after", restarted.Receive(out _)["MESSAGE"]);
    }

    [Theory]
    [InlineData("Kind", "KRAUD_KIND")]
    [InlineData("requestId", "KRAUD_REQUEST_ID")]
    [InlineData("KRAUD_VM_ID", "KRAUD_VM_ID")]
    [InlineData("vm.id", "KRAUD_VM_ID")]
    [InlineData("bad=key", null)]
    public void Makes_valid_field_names(string name, string? field) => Assert.Equal(field, JournalEntry.FieldName(name));

    public void Dispose()
    {
        _loggers.Dispose();
        _journal.Dispose();
        _dir.Dispose();
    }
}
