using Kraud.Agent.Config;
using Kraud.Agent.Work;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Reconcilers;

/// <summary>The reconcilers this build serves. Kinds not listed (Pod, until its work lands) fail permanently with a message naming them.</summary>
public static class BuiltIn
{
    public static IReadOnlyList<IReconciler> Create(AgentConfig config, ILoggerFactory loggers, Storage.ZfsStorage storage)
    {
        return
        [
            new ProbeReconciler(),
            new VpcKind(config.StateDir, loggers.CreateLogger("Kraud.Net")),
            new OverlayKind(loggers.CreateLogger("Kraud.Net")),
            new VolumeKind(storage.Volumes),
            new SnapshotKind(storage.Snapshots),
        ];
    }
}
