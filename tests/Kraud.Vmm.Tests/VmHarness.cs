using System.Text.Json.Nodes;

namespace Kraud.Vmm.Tests;

/// <summary>Writes a launch file into a fresh directory, runs the VMM on it in-process, and collects what came out.</summary>
public sealed class VmHarness : IDisposable
{
    public VmHarness()
    {
        Dir = Directory.CreateTempSubdirectory("kraud-kvm-test-").FullName;
        SerialLog = Path.Combine(Dir, "serial.log");
    }

    public string Dir { get; }
    public string SerialLog { get; }
    public CapturingLoggerFactory Logs { get; } = new();

    public JsonObject Launch(string kernel, string cmdline = "console=ttyS0", int memoryMiB = 64) => new()
    {
        ["id"] = "test-vm",
        ["vcpus"] = 1,
        ["memoryMiB"] = memoryMiB,
        ["kernel"] = kernel,
        ["initrd"] = null,
        ["cmdline"] = cmdline,
        ["serialLog"] = SerialLog,
        ["disks"] = new JsonArray(),
        ["nets"] = new JsonArray(),
    };

    public string Serial => File.Exists(SerialLog) ? File.ReadAllText(SerialLog) : "";

    /// <summary>Runs the VM to its end (at most <paramref name="timeoutSeconds"/>) and returns the exit code.</summary>
    public async Task<int> RunAsync(JsonObject launch, int timeoutSeconds = 30)
    {
        var path = Path.Combine(Dir, "launch.json");
        await File.WriteAllTextAsync(path, launch.ToJsonString());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        return await LaunchFileRunner.RunAsync(path, Logs, cts.Token);
    }

    public string Describe(int code) => $"exit {code}\n--- serial ---\n{Serial}\n--- log ---\n{Logs.Text}";

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
