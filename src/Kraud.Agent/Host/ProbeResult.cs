namespace Kraud.Agent.Host;

/// <summary>One line of `doctor`: what was checked, whether it is there, and how to fix it when not.</summary>
public sealed record ProbeResult(string Name, bool Ok, bool Required, string Detail, string? Fix = null);

/// <summary>What the host can do, as the host record reports it (contract section 5).</summary>
public sealed record Capabilities(bool Kvm, bool Zfs, string Wireguard, bool Ip6tnl, bool Nfs);
