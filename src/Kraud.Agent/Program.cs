using Kraud.Agent.Cli;

namespace Kraud.Agent;

internal static class Program
{
    private static Task<int> Main(string[] args) => AgentCli.InvokeAsync(args);
}
