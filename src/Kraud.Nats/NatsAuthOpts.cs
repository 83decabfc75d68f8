namespace Kraud.Nats;

/// <summary>Credentials sent in CONNECT.</summary>
public sealed record NatsAuthOpts
{
    /// <summary>No credentials.</summary>
    public static readonly NatsAuthOpts Default = new();

    /// <summary>User name for user/password auth.</summary>
    public string? Username { get; init; }

    /// <summary>Password for user/password auth.</summary>
    public string? Password { get; init; }

    /// <summary>Token for token auth.</summary>
    public string? Token { get; init; }
}
