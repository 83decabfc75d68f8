namespace Kraud.Oci.Tests;

public sealed class ImageReferenceTests
{
    private const string Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("registry.example:5000/library/mariadb:11", "registry.example:5000", "library/mariadb", "11", null)]
    [InlineData("registry.example/a/b/c", "registry.example", "a/b/c", "latest", null)]
    [InlineData("localhost/app:v1.2_3-rc", "localhost", "app", "v1.2_3-rc", null)]
    [InlineData("127.0.0.1:5000/x/y@sha256:" + Hex, "127.0.0.1:5000", "x/y", null, "sha256:" + Hex)]
    [InlineData("r.io/x/y:tag@sha256:" + Hex, "r.io", "x/y", "tag", "sha256:" + Hex)]
    [InlineData("[::1]:5000/my_app/web-server__v2.x", "[::1]:5000", "my_app/web-server__v2.x", "latest", null)]
    public void Parses_registry_repository_tag_and_digest(string text, string registry, string repository, string? tag, string? digest)
    {
        var r = ImageReference.Parse(text);

        Assert.Equal(registry, r.Registry);
        Assert.Equal(repository, r.Repository);
        Assert.Equal(tag, r.Tag);
        Assert.Equal(digest, r.Digest?.ToString());
        Assert.Equal(digest ?? tag, r.ManifestReference);
    }

    [Fact]
    public void Prints_back_what_it_parsed_and_pins_to_a_digest()
    {
        var r = ImageReference.Parse("r.io:443/x/y:1");
        Assert.Equal("r.io:443/x/y:1", r.ToString());
        Assert.Equal($"r.io:443/x/y:1@sha256:{Hex}", r.WithDigest(Digest.FromHex(Hex)).ToString());
    }

    [Theory]
    [InlineData("", "the reference is empty")]
    [InlineData("mariadb:11", "'mariadb:11' names no registry")]
    [InlineData("library/mariadb:11", "'library' is not a registry host")]
    [InlineData("registry.example:99999/x", "port '99999' is not a number from 1 to 65535")]
    [InlineData("registry.example:/x", "port '' is not a number")]
    [InlineData("-bad-.example/x", "registry host '-bad-.example' is not a valid host name")]
    [InlineData("r.io/Library/x", "repository path component 'Library' is invalid")]
    [InlineData("r.io/a//b", "empty path component")]
    [InlineData("r.io/x:-tag", "tag '-tag' is invalid")]
    [InlineData("r.io/x@sha256:abc", "expected 64 hex digits after sha256:, got 3")]
    [InlineData("r.io/x@md5:" + Hex, "uses algorithm 'md5': only sha256 is supported")]
    [InlineData("r.io/x@sha256:" + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "'A' is not a lower-case hex digit")]
    [InlineData(" r.io/x", "white space")]
    [InlineData("r.io/", "the repository path is empty")]
    [InlineData("[::1/x", "'[' without ']'")]
    public void A_bad_reference_names_what_is_wrong(string text, string problem)
    {
        var e = Assert.Throws<ImageReferenceException>(() => ImageReference.Parse(text));

        Assert.Contains(problem, e.Message);
        Assert.StartsWith($"image reference '{text}'", e.Message);
        Assert.True(e.IsPermanent);
    }

    [Fact]
    public void A_name_over_255_characters_is_refused()
    {
        var e = Assert.Throws<ImageReferenceException>(() => ImageReference.Parse("r.io/" + new string('a', 260)));
        Assert.Contains("longer than 255", e.Message);
    }

    [Theory]
    [InlineData("registry.example:5000", "registry.example:5000", true)]
    [InlineData("Registry.Example:5000", "registry.example:5000", true)]
    [InlineData("registry.example", "registry.example:5000", false)]
    [InlineData("registry.example:5000", "registry.example:5001", false)]
    public void Registries_match_by_host_without_case_and_port_exactly(string configured, string referenced, bool matches)
    {
        var options = new RegistryOptions { Host = configured };
        Assert.Equal(matches, options.Matches(referenced));
        Assert.Equal(matches ? options : null, RegistryOptions.Find([options], ImageReference.Parse(referenced + "/x")));
    }
}
