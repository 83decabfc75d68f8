using System.Text.Json.Nodes;
using Kraud.Agent.Net.Reconcile;
using Kraud.Agent.Status;
using Kraud.Agent.Work;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Reconcilers;

/// <summary>
/// Kind Vpc: the host's WireGuard interface of the tenant's IPv6 VPC (Kraud.Agent.Net does the work). Its public
/// key goes into the host record from the first heartbeat (derived from the state dir) until the Vpc is deleted.
/// </summary>
public sealed class VpcKind(string stateDir, ILogger logger) : IReconciler, IHostReport
{
    private readonly VpcReconciler _vpc = new(logger: logger);
    private readonly VpcPublicKeys _publicKeys = new(stateDir);

    public string Kind => ResourceKinds.Vpc;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        var spec = SpecReader.Read(envelope, NetSpecJsonContext.Default.VpcSpec);
        try
        {
            if (envelope.Deleted)
            {
                spec.Validate();
                await _vpc.DeleteAsync(spec.Interface!, ct);
                _publicKeys.Remove(envelope.Id);
                return new JsonObject { ["interface"] = spec.Interface, ["deleted"] = true };
            }
            var observed = await _vpc.ReconcileAsync(spec, context.StateDir, ct);
            if (observed["publicKey"]?.GetValue<string>() is { } publicKey) _publicKeys.Set(envelope.Id, publicKey);
            return observed;
        }
        catch (SpecValidationException e)
        {
            throw new PermanentReconcileException("spec." + e.Message, e);
        }
    }

    public Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        report.WireguardPublicKey ??= _publicKeys.Current;
        return Task.CompletedTask;
    }
}

/// <summary>Kind Overlay: a namespace's IPv4 network carried in ip6ip over the VPC.</summary>
public sealed class OverlayKind(ILogger logger) : IReconciler
{
    private readonly OverlayReconciler _overlay = new(logger: logger);

    public string Kind => ResourceKinds.Overlay;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        var spec = SpecReader.Read(envelope, NetSpecJsonContext.Default.OverlaySpec);
        try
        {
            if (!envelope.Deleted) return await _overlay.ReconcileAsync(spec, ct);
            await _overlay.DeleteAsync(spec, ct);
            return new JsonObject { ["deleted"] = true };
        }
        catch (SpecValidationException e)
        {
            throw new PermanentReconcileException("spec." + e.Message, e);
        }
    }
}
