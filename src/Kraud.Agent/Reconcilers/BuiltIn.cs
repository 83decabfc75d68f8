using Kraud.Agent.Config;
using Kraud.Agent.Work;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Reconcilers;

/// <summary>The reconcilers this build serves. Kinds not listed fail permanently with a message naming them.</summary>
public static class BuiltIn
{
    public static IReadOnlyList<IReconciler> Create(AgentConfig config, ILoggerFactory loggers) =>
    [
        new ProbeReconciler(),
    ];
}
