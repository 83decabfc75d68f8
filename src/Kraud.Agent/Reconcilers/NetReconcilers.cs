using System.Text.Json.Nodes;
using Kraud.Net.Reconcile;
using Kraud.Agent.Status;
using Kraud.Agent.Work;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Reconcilers;

/// <summary>
/// Kind Vpc: the host's WireGuard interface of the tenant's IPv6 VPC (Kraud.Net does the work). Its public
/// key goes into the host record from the first heartbeat (derived from the state dir) until the Vpc is deleted.
/// An interface that is not this Vpc's (<see cref="ForeignObjectException"/>) fails permanently and stays as it is.
/// Works in the agent's namespace, or in <paramref name="ns"/> (tests).
/// </summary>
public sealed class VpcKind(string stateDir, ILogger logger, NetNs? ns = null) : IReconciler, IHostReport
{
    private readonly VpcReconciler _vpc = new(ns, logger: logger);
    private readonly VpcPublicKeys _publicKeys = new(stateDir);

    public string Kind => ResourceKinds.Vpc;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        if (envelope.Deleted) return await DeleteAsync(envelope, ct);
        var spec = SpecReader.Read(envelope, NetSpecJsonContext.Default.VpcSpec);
        try
        {
            var observed = await _vpc.ReconcileAsync(spec, context.StateDir, envelope.Id, ct);
            if (observed["publicKey"]?.GetValue<string>() is { } publicKey) _publicKeys.Set(envelope.Id, publicKey);
            return observed;
        }
        catch (SpecValidationException e)
        {
            throw new PermanentReconcileException("spec." + e.Message, e);
        }
        catch (ForeignObjectException e)
        {
            throw new PermanentReconcileException(e.Message, e);
        }
    }

    /// <summary>Removes the spec's interface, if a spec is known, and every interface tagged as this resource's.</summary>
    private async Task<JsonObject> DeleteAsync(ResourceEnvelope envelope, CancellationToken ct)
    {
        var spec = SpecReader.ReadForDelete(envelope, NetSpecJsonContext.Default.VpcSpec);
        try { spec?.Validate(); }
        catch (SpecValidationException e) { throw new PermanentReconcileException("spec." + e.Message, e); }
        List<string> deleted;
        try { deleted = await _vpc.DeleteOwnedAsync(envelope.Id, spec?.Interface, ct); }
        catch (ForeignObjectException e) { throw new PermanentReconcileException(e.Message, e); }
        _publicKeys.Remove(envelope.Id);
        return new JsonObject
        {
            ["interface"] = spec?.Interface ?? deleted.FirstOrDefault(),
            ["deletedInterfaces"] = new JsonArray(deleted.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["deleted"] = true,
        };
    }

    public Task ContributeAsync(HostReportBuilder report, CancellationToken ct)
    {
        report.WireguardPublicKey ??= _publicKeys.Current;
        return Task.CompletedTask;
    }
}

/// <summary>
/// Kind Overlay: a namespace's IPv4 network carried in ip6ip over the VPC. A tunnel or route that is not the agent's
/// (<see cref="ForeignObjectException"/>) fails permanently and stays as it is. In the agent's namespace, or in <paramref name="ns"/> (tests).
/// </summary>
public sealed class OverlayKind(ILogger logger, NetNs? ns = null) : IReconciler
{
    private readonly OverlayReconciler _overlay = new(ns, logger);

    public string Kind => ResourceKinds.Overlay;

    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        try
        {
            if (!envelope.Deleted) return await _overlay.ReconcileAsync(envelope.Id, SpecReader.Read(envelope, NetSpecJsonContext.Default.OverlaySpec), ct);
            // The routes are found by the id; a spec, when there is one, must still be valid.
            SpecReader.ReadForDelete(envelope, NetSpecJsonContext.Default.OverlaySpec)?.Validate();
            int routes = await _overlay.DeleteAsync(envelope.Id, ct);
            return new JsonObject { ["deletedRoutes"] = routes, ["deleted"] = true };
        }
        catch (SpecValidationException e)
        {
            throw new PermanentReconcileException("spec." + e.Message, e);
        }
        catch (ForeignObjectException e)
        {
            throw new PermanentReconcileException(e.Message, e);
        }
    }
}
