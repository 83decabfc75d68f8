namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// What a pod's status says of its VM between reconciles: Ready while the VM runs; Failed while it is down (its VMM
/// exited and its restart policy has not brought it back, or will not), naming the exit code, the restarts so far and
/// the last serial lines. A restart that reports the guest running puts the pod back to Ready.
/// </summary>
public static class PodVmDown
{
    public static (string Phase, string Message) PhaseOf(VmState state)
    {
        if (state.Running) return ("Ready", "");
        var exit = state.LastExit;
        string code = exit is null ? "unknown" : exit.Code == -1 ? "unknown (a VMM adopted from an earlier agent)" : exit.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string tail = exit is { SerialTail.Count: > 0 } ? "; serial: " + string.Join(" | ", exit.SerialTail.TakeLast(5)) : "";
        return ("Failed", $"the VM of pod {state.Id} is down: its VMM exited with code {code} after {state.Restarts} restart(s){tail}");
    }
}
