using Kraud.Agent.Tests.ControlPlane;
using NATS.Client.Core;
using NATS.NKeys;

namespace Kraud.Agent.Tests.Nats;

/// <summary>
/// `kraud-agent run` against servers that authenticate it: an NKey user, a .creds file in operator mode (memory
/// resolver) and mutual TLS. Each time the agent serves a Probe to Ready, and no secret reaches its log, even at trace.
/// </summary>
public sealed class AgentAuthTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private NatsServer? _nats;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_nats is not null) await _nats.DisposeAsync();
        _dir.Dispose();
    }

    private string Private(string name, string content)
    {
        string p = _dir.Write(name, content);
        File.SetUnixFileMode(p, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return p;
    }

    /// <summary>Starts the agent with <paramref name="natsExtra"/>, serves one Probe through it and returns its stderr.</summary>
    private async Task<string> ServeOneProbeAsync(string natsExtra, NatsOpts controlPlane, string url)
    {
        using var agent = new AgentUnderTest(_dir, "a", "h1", url, natsExtra: natsExtra, logLevel: "trace");
        try
        {
            await agent.WaitServingAsync();
            Assert.False(agent.Process.HasExited);
        }
        catch (Exception e) when (e is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new TimeoutException($"{e.Message}; the agent's last lines:\n{string.Join('\n', agent.Process.Stderr.Where(l => !l.Contains("Connection state is changing") && !l.Contains("to reconnect")).Take(40))}", e);
        }
        await using var cp = await TestControlPlane.ConnectAsync(controlPlane with { Url = url });
        await cp.PublishAsync("h1", "Probe", "p1", 1);
        var ready = await cp.WaitForStatusAsync("h1", "probe", "p1", s => s.Phase == "Ready", TimeSpan.FromSeconds(30));
        Assert.Equal(1, ready.Generation);
        Assert.Single(agent.ProbeEvents(), e => e.What == "exit");
        return string.Join('\n', agent.Process.Stderr);
    }

    /// <summary>A seed-only file (what `nk -gen user` writes) and NATS.Net's own form (seed and public key lines).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Nkey_user(bool withPublicKeyLine)
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        _nats = await NatsServer.StartAsync(new NatsServerOptions
        {
            ExtraConfig = $$"""authorization { users: [ { nkey: "{{user.GetPublicKey()}}" } ] }""",
        });
        string seedFile = Private("agent.nk", user.GetSeed() + "\n" + (withPublicKeyLine ? user.GetPublicKey() + "\n" : ""));
        var cpOpts = NatsOpts.Default with { AuthOpts = new NatsAuthOpts { Seed = user.GetSeed(), NKey = user.GetPublicKey() } };
        await AssertRefusedAsync(NatsOpts.Default with { Url = _nats.Url }); // the server does check

        string log = await ServeOneProbeAsync($"\"nkeyFile\": \"{seedFile}\"", cpOpts, _nats.Url);
        Assert.DoesNotContain(user.GetSeed(), log);
        Assert.DoesNotContain(user.GetSeed()[2..20], log);
    }

    /// <summary>A server in operator mode with a memory resolver; returns the user's .creds file.</summary>
    private async Task<string> OperatorModeAsync(KeyPair user, bool accountJetStream)
    {
        using var op = KeyPair.CreatePair(PrefixByte.Operator);
        using var account = KeyPair.CreatePair(PrefixByte.Account);
        string opJwt = NatsJwt.Operator(op), accountJwt = NatsJwt.Account(op, account, accountJetStream), userJwt = NatsJwt.User(account, user);
        // 2.9.10 runs JetStream in operator mode only with a system account ("system account not setup").
        using var system = KeyPair.CreatePair(PrefixByte.Account);
        string systemJwt = NatsJwt.SystemAccount(op, system);
        _nats = await NatsServer.StartAsync(new NatsServerOptions
        {
            ExtraConfig = $$"""
                operator: "{{opJwt}}"
                system_account: "{{system.GetPublicKey()}}"
                resolver: MEMORY
                resolver_preload: { {{account.GetPublicKey()}}: "{{accountJwt}}", {{system.GetPublicKey()}}: "{{systemJwt}}" }
                """,
        });
        return Private("agent.creds", NatsJwt.Creds(userJwt, user));
    }

    [Fact]
    public async Task An_account_jwt_without_jetstream_limits_has_no_jetstream_on_2_9_10()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        string creds = await OperatorModeAsync(user, accountJetStream: false);
        await using var c = new NatsConnection(NatsOpts.Default with { Url = _nats!.Url, AuthOpts = new NatsAuthOpts { CredsFile = creds } });
        await c.ConnectAsync(); // the user is let in
        var e = await Assert.ThrowsAsync<NATS.Client.JetStream.NatsJSApiException>(async () => await new NATS.Client.JetStream.NatsJSContext(c).GetAccountInfoAsync());
        Assert.Equal(10039, e.Error.ErrCode); // jetstream not enabled for account
    }

    [Fact]
    public async Task Creds_file_in_operator_mode_with_a_memory_resolver()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        string creds = await OperatorModeAsync(user, accountJetStream: true);
        var cpOpts = NatsOpts.Default with { AuthOpts = new NatsAuthOpts { CredsFile = creds } };
        await AssertRefusedAsync(NatsOpts.Default with { Url = _nats!.Url });

        string log = await ServeOneProbeAsync($"\"credsFile\": \"{creds}\"", cpOpts, _nats.Url);
        Assert.DoesNotContain(user.GetSeed(), log);
        Assert.DoesNotContain(user.GetSeed()[2..20], log);
    }

    [Fact]
    public async Task Mutual_tls_and_a_client_without_a_certificate_is_refused()
    {
        var certs = TestCertificates.Create(_dir.Path);
        _nats = await NatsServer.StartAsync(new NatsServerOptions
        {
            TlsCertFile = certs.ServerCert, TlsKeyFile = certs.ServerKey, TlsCaFile = certs.CaFile, TlsVerify = true,
        });
        Assert.StartsWith("tls://", _nats.Url);
        await AssertRefusedAsync(NatsOpts.Default with { Url = _nats.Url, TlsOpts = new NatsTlsOpts { CaFile = certs.CaFile, Mode = TlsMode.Require } });

        var cpOpts = NatsOpts.Default with
        {
            TlsOpts = new NatsTlsOpts { CaFile = certs.CaFile, CertFile = certs.ClientCert, KeyFile = certs.ClientKey, Mode = TlsMode.Require },
        };
        string log = await ServeOneProbeAsync(
            $"\"caFile\": \"{certs.CaFile}\", \"certFile\": \"{certs.ClientCert}\", \"keyFile\": \"{certs.ClientKey}\"", cpOpts, _nats.Url);
        string key = File.ReadAllLines(certs.ClientKey).First(l => !l.StartsWith("-----", StringComparison.Ordinal));
        Assert.DoesNotContain(key, log);
    }

    [Fact]
    public async Task User_and_password_never_logged()
    {
        const string password = "s3cr3t-Pw-9tRq";
        _nats = await NatsServer.StartAsync(new NatsServerOptions { User = "agent", Password = password });
        var cpOpts = NatsOpts.Default with { AuthOpts = new NatsAuthOpts { Username = "agent", Password = password } };
        await AssertRefusedAsync(NatsOpts.Default with { Url = _nats.Url, AuthOpts = new NatsAuthOpts { Username = "agent", Password = "wrong" } });

        string log = await ServeOneProbeAsync($"\"user\": \"agent\", \"password\": \"{password}\"", cpOpts, _nats.Url);
        Assert.DoesNotContain(password, log);
    }

    /// <summary>
    /// Credentials the server refuses for a while (a user added late, a server restarted with an older config): the
    /// agent must come back once they are accepted, at start and after serving. NATS.Net stops for good after the
    /// same authentication error twice in a row (NatsConnectionFailedException "Maximum authentication attempts
    /// exceeded") unless told otherwise: the agent sets IgnoreAuthErrorAbort so it keeps trying.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Credentials_refused_for_a_while_do_not_stop_the_agent_for_good(bool servingFirst)
    {
        const string password = "right-Pw-77q";
        _nats = await NatsServer.StartAsync(new NatsServerOptions { User = "agent", Password = servingFirst ? password : "not-yet" });
        string accepted = File.ReadAllText(_nats.ConfigFile).Replace("not-yet", password, StringComparison.Ordinal);
        string refusing = accepted.Replace(password, "not-yet", StringComparison.Ordinal);
        using var agent = new AgentUnderTest(_dir, "a", "h1", _nats.Url, natsExtra: $"\"user\": \"agent\", \"password\": \"{password}\"");
        if (servingFirst)
        {
            await agent.WaitServingAsync();
            File.WriteAllText(_nats.ConfigFile, refusing);
            await _nats.RestartAsync();
        }
        int AuthErrors() => agent.Process.Stderr.Count(l => l.Contains("Authentication error", StringComparison.OrdinalIgnoreCase));
        await Deadline.WaitUntilAsync(() => AuthErrors() >= 2, TimeSpan.FromSeconds(30), "the agent to be refused twice");

        File.WriteAllText(_nats.ConfigFile, accepted);
        await _nats.RestartAsync();
        await using var cp = await TestControlPlane.ConnectAsync(NatsOpts.Default with { Url = _nats.Url, AuthOpts = new NatsAuthOpts { Username = "agent", Password = password } });
        try
        {
            // KRAUD_DESIRED exists only once the agent has set it up (a publish before gets no answer).
            await Deadline.WaitUntilAsync(async () =>
            {
                try { await cp.PublishAsync("h1", "Probe", "p1", 1); return true; }
                catch (NatsException) { return false; }
            }, TimeSpan.FromSeconds(30), "the agent to set up its streams");
            await cp.WaitForStatusAsync("h1", "probe", "p1", s => s.Phase == "Ready", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\n" + string.Join('\n', agent.Process.Stderr.TakeLast(10)), e);
        }
    }

    private static async Task AssertRefusedAsync(NatsOpts opts)
    {
        await using var c = new NatsConnection(opts with { Name = "refused client", RetryOnInitialConnect = false, MaxReconnectRetry = 0 });
        await Assert.ThrowsAnyAsync<NatsException>(async () => await c.ConnectAsync());
    }
}
