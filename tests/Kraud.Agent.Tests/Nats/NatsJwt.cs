using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NATS.NKeys;

namespace Kraud.Agent.Tests.Nats;

/// <summary>
/// NATS JWT v2 (operator, account, user) made in the test: header {"typ":"JWT","alg":"ed25519-nkey"}, the claims
/// (jti, iat, iss, name, sub, nats{type, version 2, ...}) signed with the issuer's NKey, and the .creds file format.
/// </summary>
public static class NatsJwt
{
    public static string Operator(KeyPair op) => Encode(op, op.GetPublicKey(), "kraud-test-operator", new JsonObject { ["type"] = "operator", ["version"] = 2 });

    /// <summary>An account with every limit unlimited, JetStream included: 2.9.10 enables JetStream for an account whose
    /// JWT has mem_storage or disk_storage not 0 (-1: unlimited); without them its JetStream API is unavailable.</summary>
    public static string Account(KeyPair op, KeyPair account, bool jetStream = true) => Encode(op, account.GetPublicKey(), "kraud", new JsonObject
    {
        ["type"] = "account",
        ["version"] = 2,
        ["limits"] = jetStream
            ? new JsonObject
            {
                ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true,
                ["conn"] = -1, ["leaf"] = -1, ["mem_storage"] = -1, ["disk_storage"] = -1, ["streams"] = -1, ["consumer"] = -1,
            }
            : new JsonObject
            {
                ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true,
                ["conn"] = -1, ["leaf"] = -1,
            },
        ["default_permissions"] = new JsonObject { ["pub"] = new JsonObject(), ["sub"] = new JsonObject() },
    });

    /// <summary>The system account (the server's own traffic): no JetStream.</summary>
    public static string SystemAccount(KeyPair op, KeyPair account) => Encode(op, account.GetPublicKey(), "SYS", new JsonObject
    {
        ["type"] = "account",
        ["version"] = 2,
        ["limits"] = new JsonObject { ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true, ["conn"] = -1, ["leaf"] = -1 },
    });

    public static string User(KeyPair account, KeyPair user) => Encode(account, user.GetPublicKey(), "kraud-agent", new JsonObject
    {
        ["type"] = "user",
        ["version"] = 2,
        ["pub"] = new JsonObject(), ["sub"] = new JsonObject(), ["subs"] = -1, ["data"] = -1, ["payload"] = -1,
    });

    /// <summary>The .creds file as `nsc` writes it.</summary>
    public static string Creds(string userJwt, KeyPair user) => $"""
        -----BEGIN NATS USER JWT-----
        {userJwt}
        ------END NATS USER JWT------

        ************************* IMPORTANT *************************
        NKEY Seed printed below can be used to sign and prove identity.
        NKEYs are sensitive and should be treated as secrets.

        -----BEGIN USER NKEY SEED-----
        {user.GetSeed()}
        ------END USER NKEY SEED------

        *************************************************************

        """;

    private static string Encode(KeyPair issuer, string subject, string name, JsonObject nats)
    {
        var claims = new JsonObject
        {
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["iss"] = issuer.GetPublicKey(),
            ["name"] = name,
            ["sub"] = subject,
            ["nats"] = nats,
        };
        // jti: the claims' hash (SHA-512/256 in the Go library; any unique id will do for the server).
        claims["jti"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(claims.ToJsonString())));
        string header = B64("""{"typ":"JWT","alg":"ed25519-nkey"}"""u8.ToArray());
        string payload = B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        byte[] signature = new byte[64];
        issuer.Sign(Encoding.ASCII.GetBytes(header + "." + payload), signature);
        return header + "." + payload + "." + B64(signature);
    }

    private static string B64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
