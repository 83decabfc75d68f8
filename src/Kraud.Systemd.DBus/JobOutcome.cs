namespace Kraud.Systemd.DBus;

/// <summary>How a job ended: the `result` of systemd's JobRemoved signal (org.freedesktop.systemd1(5)).</summary>
public enum JobResult
{
    /// <summary>A result this code does not know (a newer systemd); <see cref="JobOutcome.ResultText"/> has it.</summary>
    Unknown,
    /// <summary>The job finished: for a start, the unit reached its started state (for Type=exec, the exec).</summary>
    Done,
    /// <summary>Cancelled before it finished, e.g. replaced by a conflicting job (a stop while starting).</summary>
    Canceled,
    /// <summary>The unit's job timeout passed (TimeoutStartSec=, JobTimeoutSec=).</summary>
    Timeout,
    /// <summary>The job failed: for a start, the unit failed to start (the unit's state says why).</summary>
    Failed,
    /// <summary>A job this one depended on failed, so it was dropped.</summary>
    Dependency,
    /// <summary>Skipped: it did not apply to the unit's current state.</summary>
    Skipped,
    /// <summary>Invalid for the unit's type or state (e.g. a reload of a unit that cannot reload).</summary>
    Invalid,
    /// <summary>An Assert*= condition of the unit failed.</summary>
    Assert,
    /// <summary>The unit type is not supported on this system.</summary>
    Unsupported,
    /// <summary>The job was garbage-collected before it could run.</summary>
    Collected,
    /// <summary>A unit that may run only once has already run.</summary>
    Once,
    /// <summary>The unit is frozen.</summary>
    Frozen,
    /// <summary>A concurrency limit of the unit's slice was reached.</summary>
    Concurrency,
}

/// <summary>A finished job of one unit: what StartUnit, StopUnit and RestartUnit waited for.</summary>
/// <param name="Unit">The unit the job was for.</param>
/// <param name="Job">The job's object path (/org/freedesktop/systemd1/job/N).</param>
/// <param name="Verb">What was asked: start, stop or restart.</param>
/// <param name="Result">The result, mapped.</param>
/// <param name="ResultText">The result as systemd sent it.</param>
public sealed record JobOutcome(string Unit, string Job, string Verb, JobResult Result, string ResultText)
{
    public bool Succeeded => Result == JobResult.Done;

    public override string ToString() => $"{Verb} of {Unit}: {ResultText} ({Job})";

    internal static JobResult Parse(string result) => result switch
    {
        "done" => JobResult.Done,
        "canceled" => JobResult.Canceled,
        "timeout" => JobResult.Timeout,
        "failed" => JobResult.Failed,
        "dependency" => JobResult.Dependency,
        "skipped" => JobResult.Skipped,
        "invalid" => JobResult.Invalid,
        "assert" => JobResult.Assert,
        "unsupported" => JobResult.Unsupported,
        "collected" => JobResult.Collected,
        "once" => JobResult.Once,
        "frozen" => JobResult.Frozen,
        "concurrency" => JobResult.Concurrency,
        _ => JobResult.Unknown,
    };
}
