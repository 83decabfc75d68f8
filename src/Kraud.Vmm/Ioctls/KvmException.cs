namespace Kraud.Vmm.Ioctls;

/// <summary>The host's KVM lacks something this monitor needs (API version, a capability).</summary>
public sealed class KvmException(string message) : Exception(message);
