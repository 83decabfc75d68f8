using Microsoft.Win32.SafeHandles;

namespace Kraud.Vmm.Boot;

/// <summary>A read-only file read at offsets straight into guest memory, so a kernel never passes through the managed heap.</summary>
public sealed class SafeHandleFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    public SafeHandleFile(string path)
    {
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        Length = RandomAccess.GetLength(_handle);
    }

    public long Length { get; }

    public void ReadExactly(Span<byte> destination, long offset)
    {
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(_handle, destination, offset);
            if (n <= 0) throw new KernelFormatException($"file ends at {offset}, {destination.Length} bytes short");
            destination = destination[n..];
            offset += n;
        }
    }

    public void Dispose() => _handle.Dispose();
}
