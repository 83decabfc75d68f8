using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Kraud.Oci;

/// <summary>
/// Authentication with one registry, learnt from its first 401: nothing (anonymous), Basic with the configured
/// credentials, or a Bearer token from the token service the challenge names (distribution's token spec), cached
/// per scope until shortly before it expires. Passwords and tokens go into headers only, never into a message or a
/// log line.
/// </summary>
internal sealed class RegistryAuth(RegistryOptions options, HttpClient http, TimeProvider time, ILogger logger)
{
    private enum Scheme { Anonymous, Basic, Bearer }

    // Tokens are renewed this long before the service says they expire: a token must not lapse mid-request.
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private readonly Dictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private volatile Scheme _scheme;
    private Challenge? _bearer;

    private bool HasCredentials => options.Username is not null;

    /// <summary>Puts what is known to work on a request (before any 401: nothing).</summary>
    public async Task ApplyAsync(HttpRequestMessage request, string scope, CancellationToken ct)
    {
        switch (_scheme)
        {
            case Scheme.Basic:
                request.Headers.Authorization = BasicHeader();
                break;
            case Scheme.Bearer:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(scope, renew: false, ct));
                break;
        }
    }

    /// <summary>
    /// Learns from a 401 how to authenticate, so the caller can retry once. Throws when there is no way: Basic
    /// asked and no credentials configured, or the token service refuses.
    /// </summary>
    public async Task OnUnauthorizedAsync(HttpResponseMessage response, string scope, CancellationToken ct)
    {
        Challenge? challenge = Challenge.From(response.Headers.WwwAuthenticate);
        if (challenge is null)
            throw new RegistryException($"registry {options.Host} answered 401 without a Basic or Bearer challenge", HttpStatusCode.Unauthorized);
        if (challenge.Scheme == "Basic")
        {
            if (!HasCredentials)
                throw new RegistryException($"registry {options.Host} requires a username and password (basic auth) and none is configured",
                    HttpStatusCode.Unauthorized);
            _scheme = Scheme.Basic;
            return;
        }
        if (challenge["realm"] is null)
            throw new RegistryException($"registry {options.Host}: its Bearer challenge names no token realm", HttpStatusCode.Unauthorized);
        _bearer = challenge;
        _scheme = Scheme.Bearer;
        await TokenAsync(scope, renew: true, ct);
    }

    // A realm as it may appear in a message: without user info or query.
    private static string Shown(Uri uri) => uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

    private AuthenticationHeaderValue BasicHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{options.Password}")));

    private async Task<string> TokenAsync(string scope, bool renew, CancellationToken ct)
    {
        await _tokenLock.WaitAsync(ct);
        try
        {
            if (!renew && _tokens.TryGetValue(scope, out var cached) && cached.Expires > time.GetUtcNow()) return cached.Token;
            (string token, TimeSpan lifetime) = await FetchTokenAsync(scope, ct);
            _tokens[scope] = (token, time.GetUtcNow() + lifetime - ExpiryMargin);
            return token;
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    private async Task<(string Token, TimeSpan Lifetime)> FetchTokenAsync(string scope, CancellationToken ct)
    {
        Challenge challenge = _bearer!;
        if (!Uri.TryCreate(challenge["realm"], UriKind.Absolute, out Uri? realm) || realm.Scheme is not ("https" or "http"))
            throw new RegistryException($"registry {options.Host}: token realm '{challenge["realm"]}' is not an http(s) URL", HttpStatusCode.Unauthorized);
        if (realm.Scheme == "http" && HasCredentials && !options.PlainHttp)
            throw new RegistryException($"registry {options.Host}: token realm {Shown(realm)} is plain HTTP; " +
                                        "credentials are only sent there when the registry is configured with plainHttp", HttpStatusCode.Unauthorized);

        var query = new StringBuilder();
        if (challenge["service"] is { } service) query.Append("service=").Append(Uri.EscapeDataString(service));
        query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(challenge["scope"] ?? scope));
        var url = new UriBuilder(realm) { Query = (realm.Query.Length > 1 ? realm.Query[1..] + "&" : "") + query }.Uri;

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (HasCredentials) request.Headers.Authorization = BasicHeader();
        string who = HasCredentials ? $"the credentials of user '{options.Username}'" : "an anonymous request";
        string where = $"token service {Shown(realm)} of registry {options.Host}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, timeout.Token);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"{where}: {e.Message}", null, e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RegistryException($"{where}: no answer within 30 s", null, e);
        }
        using (response)
        {
            // The body of a failed token request is not quoted: a token service may echo what it was sent.
            if (!response.IsSuccessStatusCode)
                throw new RegistryException($"{where} refused {who}: {(int)response.StatusCode} {response.ReasonPhrase}", response.StatusCode);
            TokenResponse? body;
            try
            {
                body = JsonSerializer.Deserialize(await response.Content.ReadAsStreamAsync(ct), OciJsonContext.Default.TokenResponse);
            }
            catch (JsonException)
            {
                body = null;
            }
            string? token = body?.Token ?? body?.AccessToken;
            if (string.IsNullOrEmpty(token))
                throw new RegistryException($"{where} answered without a token", response.StatusCode);
            // The spec's default lifetime is 60 s; a shorter one than the margin still serves this one request.
            int seconds = body!.ExpiresIn is int s && s > 0 ? s : 60;
            logger.LogDebug("registry {Registry}: bearer token for {Scope}, valid {Seconds} s", options.Host, challenge["scope"] ?? scope, seconds);
            return (token, TimeSpan.FromSeconds(Math.Max(seconds, ExpiryMargin.TotalSeconds + 1)));
        }
    }
}
