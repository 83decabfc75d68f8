using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// What a supervisor keeps of a VM it started, in `&lt;runDir&gt;/&lt;id&gt;/vm.json` beside the launch file: the request
/// that started it. An agent that starts while the VM runs (after a restart or a kill -9) adopts the VM with it: the
/// launch hash tells the pod's next reconcile that nothing changed, the restart policy goes on applying.
/// </summary>
public sealed record VmRecord(string Restart, string LaunchHash, string SerialLog, string LaunchFile)
{
    public const string FileName = "vm.json";

    public static VmRecord Of(VmStartRequest r) => new(r.Restart, r.LaunchHash, r.SerialLog, r.LaunchFile);

    public VmStartRequest Request(string id) => new(id, LaunchFile, SerialLog, Restart, LaunchHash);

    public static string PathOf(string runDir, string id) => Path.Combine(runDir, id, FileName);

    /// <summary>Writes the record (0600, replaced whole) before the VM starts.</summary>
    public static void Write(string runDir, VmStartRequest request)
    {
        string path = PathOf(runDir, request.Id), tmp = path + ".tmp";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(Of(request), VmRecordJsonContext.Default.VmRecord);
        using (var f = new FileStream(tmp, new FileStreamOptions
               {
                   Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
            f.Write(bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The record of VM <paramref name="id"/>, null when there is none or it cannot be read (the VM is then
    /// adopted with an empty launch hash, so the pod's next reconcile starts it again with its launch).</summary>
    public static VmRecord? Read(string runDir, string id)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(PathOf(runDir, id)), VmRecordJsonContext.Default.VmRecord); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(VmRecord))]
internal sealed partial class VmRecordJsonContext : JsonSerializerContext;
