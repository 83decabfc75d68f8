using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kraud.Agent.Cli;

internal static class VersionCommand
{
    public static Command Build()
    {
        var cmd = new Command("version", "Print the agent's version, commit and runtime.");
        cmd.SetAction(_ =>
        {
            string mode = RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "native AOT";
            Console.Out.WriteLine($"kraud-agent {AgentVersion.Value} (commit {AgentVersion.Commit}, {RuntimeInformation.FrameworkDescription}, {mode})");
            return 0;
        });
        return cmd;
    }
}
