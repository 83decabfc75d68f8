using System.CommandLine;
using Kraud.Agent.Config;

namespace Kraud.Agent.Cli;

internal static class RunCommand
{
    public static Command Build()
    {
        var cmd = new Command("run",
            "Run the daemon (what systemd starts): read the configuration, connect to NATS, take this host's work " +
            "tokens and reconcile them until SIGTERM. Tells systemd READY=1 after its startup checks and keeps " +
            "STATUS= current. On SIGTERM it drains running work within shutdownGraceSeconds; VMs, mounts and " +
            "interfaces stay as they are.");
        cmd.SetAction((parse, _) => DaemonLauncher.RunAsync(
            () => ConfigLoader.Load(parse.GetValue(AgentCli.ConfigOption), DaemonLauncher.Environment())));
        return cmd;
    }
}
