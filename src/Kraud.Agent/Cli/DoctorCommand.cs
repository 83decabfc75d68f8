using System.Collections;
using System.CommandLine;
using Kraud.Agent.Config;
using Kraud.Agent.Hosting;
using Kraud.Agent.Host;

namespace Kraud.Agent.Cli;

internal static class DoctorCommand
{
    public static Command Build()
    {
        var cmd = new Command("doctor",
            "Check this host: the configuration, the state directory, netlink, /dev/kvm, WireGuard (kernel or " +
            "userspace), ip6tnl, ZFS (module and tools), nfsd, and every configured NATS server. One line each, with " +
            "a fix for what is missing. Exits 69 when something required is missing, 78 on a bad configuration.");
        cmd.SetAction(async (parse, ct) =>
        {
            string? path = parse.GetValue(AgentCli.ConfigOption);
            IDictionary env = DaemonLauncher.Environment();
            AgentConfig config;
            int exit = ExitCodes.Ok;
            try
            {
                config = ConfigLoader.Load(path, env);
                Print(new ProbeResult("config", true, true, config.Source + $" (host {config.Host})"));
            }
            catch (ConfigException e) when (path is null && e.Key.Length == 0 && e.Problem.StartsWith("file not found", StringComparison.Ordinal))
            {
                // No file yet is a normal first run: check the rest with the defaults and the environment.
                config = Defaults(env);
                Print(new ProbeResult("config", true, false, $"{e.Origin} not found; checking with built-in defaults and KRAUD_* variables"));
            }
            catch (ConfigException e)
            {
                Print(new ProbeResult("config", false, true, e.Message));
                config = Defaults(new Hashtable());
                exit = ExitCodes.Config;
            }
            foreach (var r in await new HostProbes().AllAsync(config, ct))
            {
                Print(r);
                if (!r.Ok && r.Required && exit == ExitCodes.Ok) exit = ExitCodes.Unavailable;
            }
            return exit;
        });
        return cmd;
    }

    private static AgentConfig Defaults(IDictionary env)
    {
        try
        {
            return ConfigLoader.Parse("{\"host\":\"doctor\"}", "built-in defaults", env);
        }
        catch (ConfigException)
        {
            return ConfigLoader.Parse("{\"host\":\"doctor\"}", "built-in defaults", new Hashtable());
        }
    }

    private static void Print(ProbeResult r)
    {
        string mark = r.Ok ? "ok  " : r.Required ? "FAIL" : "miss";
        Console.Out.WriteLine($"{mark}  {r.Name,-24} {r.Detail}" + (r.Ok || r.Fix is null ? "" : $"  (fix: {r.Fix})"));
    }
}
