namespace Kraud.Nats.Internal;

/// <summary>Receives server operations from <see cref="ProtocolReader"/>; spans are valid only during the call.</summary>
internal interface IProtocolHandler
{
    void OnMsg(long sid, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size);
    void OnPing();
    void OnPong();
    void OnInfo(ReadOnlySpan<byte> json);
    void OnError(string text);
}
