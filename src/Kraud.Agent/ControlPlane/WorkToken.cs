namespace Kraud.Agent.ControlPlane;

/// <summary>The payload of a token on KRAUD_WORK: which desired message caused it (the worker reads the latest anyway).</summary>
public sealed record WorkToken(ulong DesiredSeq);
