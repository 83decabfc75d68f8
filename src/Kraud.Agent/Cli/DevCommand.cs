using System.Collections;
using System.CommandLine;
using System.Text.Json.Nodes;
using Kraud.Agent.Config;
using Kraud.Agent.Dev;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Cli;

internal static class DevCommand
{
    public static Command Build()
    {
        var host = new Option<string>("--host") { Description = "Host id to serve.", DefaultValueFactory = _ => "dev", HelpName = "NAME" };
        var stateDir = new Option<string>("--state-dir") { Description = "State directory; the JetStream store goes to DIR/nats.", DefaultValueFactory = _ => "/var/lib/kraud-dev", HelpName = "DIR" };
        var port = new Option<int>("--port") { Description = "Client port of the local nats-server on 127.0.0.1.", DefaultValueFactory = _ => 4222, HelpName = "N" };
        var cmd = new Command("dev",
            "Run the daemon together with a local JetStream server (nats-server -js on 127.0.0.1, store under the " +
            "state directory) that it starts, waits for, and stops with itself. Built-in defaults; no configuration " +
            "file needed (--config adds one). For trying the agent out: `kraud-agent apply` and `kraud-agent get` " +
            "talk to it.")
        {
            host, stateDir, port,
        };
        cmd.SetAction((parse, _) =>
        {
            string h = parse.GetValue(host)!, dir = Path.GetFullPath(parse.GetValue(stateDir)!);
            int p = parse.GetValue(port);
            return DaemonLauncher.RunAsync(
                () => Load(parse.GetValue(AgentCli.ConfigOption), h, dir, p),
                (config, loggers) => [new DevNatsServer(config.StateDir, p, loggers.CreateLogger<DevNatsServer>())]);
        });
        return cmd;
    }

    private static AgentConfig Load(string? configPath, string host, string stateDir, int port)
    {
        // Command-line values win over the environment, which wins over the file.
        var env = new Hashtable();
        foreach (DictionaryEntry e in DaemonLauncher.Environment())
        {
            string k = (string)e.Key;
            if (k is "KRAUD_HOST" or "KRAUD_STATEDIR" || k.StartsWith("KRAUD_NATS__SERVERS", StringComparison.Ordinal)) continue;
            env[k] = e.Value;
        }
        JsonObject root = configPath is null ? new JsonObject() : ReadObject(configPath);
        root["host"] = host;
        root["stateDir"] = stateDir;
        if (root["nats"] is not JsonObject nats) root["nats"] = nats = new JsonObject();
        nats["servers"] = new JsonArray($"nats://127.0.0.1:{port}");
        // dev runs its VMs as its own children unless told otherwise (the systemd units are the installed agent's).
        root["vmSupervisor"] ??= "child";
        return ConfigLoader.Parse(root.ToJsonString(), configPath ?? "built-in dev defaults", env);
    }

    private static JsonObject ReadObject(string path)
    {
        // Reuse the loader's checks for the file itself, then take its JSON.
        ConfigLoader.Load(path, new Hashtable { ["KRAUD_HOST"] = "dev" });
        return (JsonObject)JsonNode.Parse(File.ReadAllText(path), documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })!;
    }
}
