using Kraud.Systemd;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Hosting;

/// <summary>The one-line state systemd shows (`systemctl status` STATUS=); every change is also logged.</summary>
public sealed class AgentStatus(SystemdNotifier notifier, ILogger<AgentStatus> logger)
{
    private readonly Lock _gate = new();
    private string _current = "";

    public string Current
    {
        get { lock (_gate) return _current; }
    }

    public void Set(string status)
    {
        lock (_gate)
        {
            if (status == _current) return;
            _current = status;
        }
        notifier.Status(status);
        logger.LogInformation("status: {Status}", status);
    }
}
