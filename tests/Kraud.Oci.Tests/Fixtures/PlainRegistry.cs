using Kraud.Testing;

namespace Kraud.Oci.Tests.Fixtures;

/// <summary>
/// One plain-HTTP registry for a test class, filled by skopeo from a hand-written OCI layout: an OCI image, the same
/// image as Docker schema 2, a linux/arm64 + linux/amd64 index (OCI, and as a Docker manifest list), an index without amd64, an arm64-only image, and
/// images of their own for the tests that corrupt the registry's storage.
/// </summary>
public sealed class PlainRegistry : IAsyncLifetime
{
    private readonly TempDir _dir = new("kraud-oci-layout");

    public RegistryServer Server { get; private set; } = null!;
    public OciLayout Layout { get; private set; } = null!;
    public RegistryOptions Options => new() { Host = Server.Host, PlainHttp = true };

    public ContentDescriptor AppManifest { get; private set; } = null!;
    public IReadOnlyList<ContentDescriptor> AppLayers { get; private set; } = [];
    public ContentDescriptor AmdInIndex { get; private set; } = null!;
    public ContentDescriptor ArmInIndex { get; private set; } = null!;
    public ContentDescriptor ArmLayer { get; private set; } = null!;
    public ContentDescriptor AmdLayer { get; private set; } = null!;
    public ContentDescriptor CorruptLayer { get; private set; } = null!;
    public ContentDescriptor CorruptManifest { get; private set; } = null!;
    public IReadOnlyList<ContentDescriptor> SharedLayers { get; private set; } = [];

    public ImageReference Ref(string repoAndTag) => ImageReference.Parse($"{Server.Host}/{repoAndTag}");

    public async Task InitializeAsync()
    {
        Server = await RegistryServer.StartAsync();
        Layout = new OciLayout(_dir.Path);
        var l1 = Layout.AddLayer(("bin/app", "#!/bin/sh\necho app\n"));
        var l2 = Layout.AddLayer(("etc/app.conf", "answer=42\n"));
        AppLayers = [l1, l2];
        AppManifest = Layout.AddImage("linux", "amd64", AppLayers, "/bin/app");
        Layout.Tag("v1", AppManifest);
        Push("v1", "test/app");
        Push("v1", "test/app-docker", "--format", "v2s2");

        ArmLayer = Layout.AddLayer(("bin/app", "arm64 build\n"));
        ArmInIndex = Layout.AddImage("linux", "arm64", [ArmLayer], "/bin/app");
        AmdLayer = Layout.AddLayer(("bin/app", "amd64 build\n"));
        AmdInIndex = Layout.AddImage("linux", "amd64", [AmdLayer], "/bin/app");
        Layout.Tag("multi", Layout.AddIndex((ArmInIndex, "linux", "arm64"), (AmdInIndex, "linux", "amd64")));
        Push("multi", "test/multi", "--all");
        Push("multi", "test/multi-docker", "--all", "--format", "v2s2"); // a Docker manifest list
        Layout.Tag("noamd", Layout.AddIndex((ArmInIndex, "linux", "arm64"),
            (Layout.AddImage("linux", "s390x", [ArmLayer], "/bin/app"), "linux", "s390x")));
        Push("noamd", "test/noamd", "--all");
        Layout.Tag("arm", ArmInIndex);
        Push("arm", "test/arm");

        CorruptLayer = Layout.AddLayer(("data", "this layer gets corrupted in the registry\n"));
        Layout.Tag("corrupt-blob", Layout.AddImage("linux", "amd64", [CorruptLayer], "/x"));
        Push("corrupt-blob", "test/corrupt-blob");
        CorruptManifest = Layout.AddImage("linux", "amd64", [Layout.AddLayer(("m", "manifest gets corrupted\n"))], "/y");
        Layout.Tag("corrupt-manifest", CorruptManifest);
        Push("corrupt-manifest", "test/corrupt-manifest");

        // Two 4 MiB layers for the concurrency test: big enough that two pulls overlap.
        SharedLayers = [Layout.AddRandomLayer(1, 4 << 20), Layout.AddRandomLayer(2, 4 << 20)];
        Layout.Tag("shared", Layout.AddImage("linux", "amd64", SharedLayers, "/z"));
        Push("shared", "test/shared", "--preserve-digests"); // else skopeo gzips the plain tar layers on the way
    }

    public void Push(string tag, string repository, params string[] extra) =>
        Skopeo.Push(Layout, tag, Server.Host, repository, null, extra);

    public Task DisposeAsync()
    {
        Server?.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
