using Kraud.Systemd;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Tests.Systemd;

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
}
