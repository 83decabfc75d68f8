using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Agent.State;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Probe;

/// <summary>
/// The diagnostic kind `Probe` (docs/contract.md): touches nothing on the host, so an operator can check the whole
/// path control plane → token → status with `kraud-agent apply`. Spec: <c>{ "holdMs": 0..600000, "fail": null |
/// "transient" | "permanent" }</c>. Each reconcile appends "enter"/"exit" lines with a monotonic clock to
/// <c>&lt;stateDir&gt;/probe.log</c>, which the exclusivity tests read.
/// </summary>
public sealed class ProbeReconciler : IReconciler
{
    private static readonly Lock s_logGate = new();

    public string Kind => ResourceKinds.Probe;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        int holdMs = 0;
        string? fail = null;
        if (!envelope.Deleted)
        {
            foreach (var p in envelope.Spec.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "holdMs" when p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out holdMs) && holdMs is >= 0 and <= 600_000: break;
                    case "holdMs": throw new PermanentReconcileException("spec.holdMs: must be an integer from 0 to 600000");
                    case "fail" when p.Value.ValueKind == JsonValueKind.Null: break;
                    case "fail" when p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() is "transient" or "permanent": fail = p.Value.GetString(); break;
                    case "fail": throw new PermanentReconcileException("spec.fail: must be null, \"transient\" or \"permanent\"");
                    default: throw new PermanentReconcileException($"spec.{p.Name}: unknown field");
                }
            }
        }
        string log = Path.Combine(context.StateDir, "probe.log");
        Append(log, "enter", envelope, context);
        try
        {
            if (holdMs > 0) await Task.Delay(holdMs, ct);
            if (fail == "transient") throw new IOException("probe asked to fail transiently");
            if (fail == "permanent") throw new PermanentReconcileException("spec.fail: probe asked to fail permanently");
        }
        finally
        {
            Append(log, ct.IsCancellationRequested ? "cancel" : "exit", envelope, context);
        }
        return new JsonObject { ["heldMs"] = holdMs, ["pid"] = Environment.ProcessId };
    }

    private static void Append(string path, string what, ResourceEnvelope e, ReconcileContext c)
    {
        // One line per event: event, id, generation, attempt, pid, monotonic ns (comparable across processes).
        long ns = (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
        string line = string.Create(CultureInfo.InvariantCulture, $"{what} {e.Id} {e.Generation} {c.Attempt} {Environment.ProcessId} {ns}\n");
        // The same event in the agent's log, in order with the engine's own lines (the fault tests read both).
        c.Log.LogDebug("probe {Event}", what);
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(line);
        lock (s_logGate)
        {
            // One open O_APPEND file per path, one write(2) per line: atomic beside other agents' appends.
            if (s_log is null || s_logPath != path)
            {
                s_log?.Dispose();
                s_log = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0,
                    UnixCreateMode = StateDir.FileMode,
                });
                s_logPath = path;
            }
            s_log.Write(bytes);
        }
    }

    private static FileStream? s_log;
    private static string? s_logPath;
}
