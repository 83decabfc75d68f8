using System.CommandLine;
using Kraud.Agent.Hosting;

namespace Kraud.Agent.Cli;

/// <summary>The command line (contract section 6). Parse errors exit 64; each command returns its own code.</summary>
public static class AgentCli
{
    public static readonly Option<string?> ConfigOption = new("--config", "-c")
    {
        Description = "Configuration file (default: $KRAUD_AGENT_CONFIG, else /etc/kraud/agent.json).",
        HelpName = "PATH",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand(
            """
            kraud-agent: the host agent of kraud cloud. It takes work for this host from the control plane through
            NATS JetStream (exclusive work tokens, one worker per resource) and makes the host match it: the VPC's
            WireGuard interface, IPv4 overlays over ip6ip, ZFS volumes, snapshots and NFS exports, and microVMs.
            It reports each resource's status and a host heartbeat back over NATS.

            Configuration: a JSON file (see README: Configuration); any key can be overridden from the environment
            as KRAUD_<PATH> with __ between levels, e.g. KRAUD_HOST=h1, KRAUD_NATS__SERVERS__0=nats://10.0.0.1:4222.

            Exit codes: 0 clean stop, 64 bad command line, 65 invalid input file, 69 a required service or device
            is unavailable at start, 78 bad configuration (the message names the file and the key), 1 anything else.
            """)
        {
            ConfigOption,
        };
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(DevCommand.Build());
        root.Subcommands.Add(ApplyCommand.Build());
        root.Subcommands.Add(GetCommand.Build());
        root.Subcommands.Add(DoctorCommand.Build());
        root.Subcommands.Add(VmmCommand.Build());
        root.Subcommands.Add(VersionCommand.Build());
        return root;
    }

    public static async Task<int> InvokeAsync(string[] args)
    {
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine("kraud-agent: " + e.Message);
            Console.Error.WriteLine("Run 'kraud-agent --help' for the commands and their options.");
            return ExitCodes.Usage;
        }
        // We handle SIGTERM ourselves (drain, then exit), so System.CommandLine must not.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
