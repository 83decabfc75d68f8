namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// A volume delete refused because the dataset is still exported (the agent's exports file lists it) or a pod of
/// this host uses it. Transient (contract §7: refused, status Failed, *while* so): the delete is retried with
/// backoff and goes through once the export is gone (a reconcile without nfs clients) or the pod is.
/// </summary>
public sealed class VolumeInUseException(string message) : TransientReconcileException(message);
