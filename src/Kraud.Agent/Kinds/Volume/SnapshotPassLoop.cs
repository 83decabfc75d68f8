using Kraud.Zfs.Schedule;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>Runs scheduler passes until cancelled, handing each result to <paramref name="onPass"/> (<see cref="SnapshotScheduler.RunAsync"/>).</summary>
public delegate Task SnapshotPassLoop(Func<SchedulerPassResult, CancellationToken, Task> onPass, CancellationToken ct);
