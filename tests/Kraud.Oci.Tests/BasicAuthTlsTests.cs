using System.Security.Authentication;
using Kraud.Oci.Tests.Fixtures;
using Kraud.Testing;

namespace Kraud.Oci.Tests;

/// <summary>A registry with TLS (a test CA made by openssl) and basic auth (an htpasswd bcrypt entry).</summary>
public sealed class SecureRegistry : IAsyncLifetime
{
    public const string User = "puller";
    public const string Password = "s3cret-pa55word";
    private readonly TempDir _dir = new("kraud-oci-secure");

    public RegistryServer Server { get; private set; } = null!;
    public TestCertificates Certificates { get; private set; } = null!;
    public ContentDescriptor Manifest { get; private set; } = null!;

    public RegistryOptions Options(string? user = User, string? password = Password, bool ca = true) =>
        new() { Host = Server.Host, CaFile = ca ? Certificates.CaFile : null, Username = user, Password = password };

    public async Task InitializeAsync()
    {
        Certificates = TestCertificates.Create(_dir.Path);
        string htpasswd = _dir.Write("htpasswd", Tool.Run("htpasswd", "-Bbn", User, Password));
        Server = await RegistryServer.StartAsync(new RegistryServerOptions
        {
            TlsCertificate = Certificates.ServerCert, TlsKey = Certificates.ServerKey, Htpasswd = htpasswd,
        });
        var layout = new OciLayout(Path.Combine(_dir.Path, "layout"));
        Manifest = layout.AddImage("linux", "amd64", [layout.AddLayer(("secret-app", "behind basic auth\n"))], "/secret-app");
        layout.Tag("v1", Manifest);
        Skopeo.Push(layout, "v1", Server.Host, "secure/app", $"{User}:{Password}");
    }

    public Task DisposeAsync()
    {
        Server?.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class BasicAuthTlsTests(SecureRegistry registry) : IClassFixture<SecureRegistry>, IDisposable
{
    private readonly TempDir _dir = new("kraud-oci-store");

    private async Task<PulledImage> PullAsync(RegistryOptions options)
    {
        using var store = new BlobStore(_dir.Path);
        using var puller = new ImagePuller(store, [options]);
        return await puller.PullAsync(ImageReference.Parse($"{registry.Server.Host}/secure/app:v1"), "p", null, CancellationToken.None);
    }

    [Fact]
    public async Task With_the_CA_file_and_the_password_the_image_pulls_over_TLS()
    {
        PulledImage image = await PullAsync(registry.Options());

        Assert.Equal(registry.Manifest.Digest, image.ManifestDigest);
        Assert.Equal(Digest.Of(File.ReadAllBytes(Path.Combine(_dir.Path, "blobs", "sha256", image.Layers[0].Digest.Hex))), image.Layers[0].Digest);
    }

    [Fact]
    public async Task A_wrong_password_is_a_permanent_401_naming_the_user_and_never_the_password()
    {
        const string wrong = "not-the-Password-123";
        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(registry.Options(password: wrong)));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, e.Status);
        Assert.True(e.IsPermanent);
        Assert.Contains($"user '{SecureRegistry.User}'", e.Message);
        Assert.DoesNotContain(wrong, e.ToString());
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{SecureRegistry.User}:{wrong}")), e.ToString());
    }

    [Fact]
    public async Task Without_credentials_the_error_says_the_registry_wants_a_username_and_password()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(registry.Options(user: null, password: null)));

        Assert.Contains("requires a username and password (basic auth) and none is configured", e.Message);
        Assert.Contains(registry.Server.Host, e.Message);
    }

    [Fact]
    public async Task Without_the_CA_file_the_registrys_certificate_is_not_trusted()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(registry.Options(ca: false)));

        Assert.Null(e.Status);
        Assert.Contains(registry.Server.Host, e.Message);
        Assert.IsType<AuthenticationException>(e.InnerException?.InnerException);
        Assert.Contains("certificate", e.Message);
    }

    [Fact]
    public async Task A_CA_file_that_is_not_PEM_is_refused_naming_the_file()
    {
        string bogus = Path.Combine(_dir.Path, "not-a-ca.pem");
        File.WriteAllText(bogus, "hello\n");

        var e = await Assert.ThrowsAsync<OciException>(() => PullAsync(new RegistryOptions { Host = registry.Server.Host, CaFile = bogus }));

        Assert.Contains($"CA file {bogus}", e.Message);
    }

    [Fact]
    public void Registry_options_never_print_the_password()
    {
        Assert.DoesNotContain(SecureRegistry.Password, registry.Options().ToString());
        Assert.Contains(SecureRegistry.User, registry.Options().ToString());
    }

    public void Dispose() => _dir.Dispose();
}
