namespace Kraud.Nats.JetStream;

/// <summary>A message read directly from a stream (MSG.GET / DIRECT.GET).</summary>
public sealed record NatsJSStoredMsg(string Subject, ulong Sequence, NatsHeaders? Headers, ReadOnlyMemory<byte> Data, DateTimeOffset Time);
