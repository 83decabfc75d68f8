using Kraud.Agent.Cli;

namespace Kraud.Agent;

internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        VmmExec.TryReplace(args); // returns only when `vmm` is not exec'd
        return AgentCli.InvokeAsync(args);
    }
}
