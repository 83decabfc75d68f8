using Microsoft.Extensions.Logging;

namespace Kraud.Systemd.Tests;

public sealed class StderrLoggerTests
{
    [Fact]
    public void Writes_one_readable_line_with_scope_values()
    {
        var writer = new StringWriter();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new StderrLoggerProvider(writer)));
        var log = loggers.CreateLogger("Kraud.Agent.Work");
        using (log.BeginScope(new Dictionary<string, object?> { ["Kind"] = "Volume", ["Id"] = "vol-1" }))
            log.LogWarning("retrying\nsoon");
        string line = writer.ToString();
        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3} warn  Kraud\.Agent\.Work: retrying \| soon  kind=Volume id=vol-1\n$", line);
    }

    [Fact]
    public void Writes_one_line_whatever_a_message_or_value_contains()
    {
        // Under systemd, stderr goes to the journal: a NUL or a newline would end the entry and "<0>" would make
        // the next one an emergency.
        string hostile = "vol-1\0<0>12:00:00.000 crit  Kraud.Agent: forged\r\u001b[2J\nagain\ud800";
        var writer = new StringWriter();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new StderrLoggerProvider(writer)));
        var log = loggers.CreateLogger("Kraud.Agent.Work");
        using (log.BeginScope(new Dictionary<string, object?> { ["Kind"] = "Volume", ["Id"] = hostile }))
            log.LogWarning("bad name {Name}", hostile);
        string line = writer.ToString();
        const string Escaped = @"vol-1\x00<0>12:00:00.000 crit  Kraud.Agent: forged | \x1b[2J | again\u{d800}";
        Assert.EndsWith($"warn  Kraud.Agent.Work: bad name {Escaped}  kind=Volume id={Escaped}\n", line);
        Assert.Equal(1, line.Count(c => c == '\n'));
        Assert.DoesNotContain(line, c => char.IsControl(c) && c != '\n');
    }
}
