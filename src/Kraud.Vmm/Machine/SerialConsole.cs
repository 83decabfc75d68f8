using System.Text;
using Kraud.Libc;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Machine;

/// <summary>
/// Where the guest's serial output goes: appended to the serial log file (flushed per line) and logged line by
/// line under the VM's scope, so the journal carries it with the VM's fields.
/// </summary>
internal sealed unsafe class SerialConsole : IDisposable
{
    private const int FlushAt = 1024;
    private readonly FileDescriptor? _file;
    private readonly ILogger _logger;
    private readonly object _scope;
    private readonly byte[] _fileBuffer = new byte[FlushAt];
    private readonly List<byte> _line = new(256);
    private int _buffered;

    public SerialConsole(string? path, ILogger logger, object scope)
    {
        if (path != null)
            _file = new FileDescriptor(Native.Check(Native.open(path, Native.O_WRONLY | Native.O_CREAT | Native.O_APPEND, 0x1a0 /* 0640 */), $"open {path}"));
        _logger = logger;
        _scope = scope;
    }

    /// <summary>Called by the UART for each transmitted byte (vCPU thread).</summary>
    public void Put(byte b)
    {
        lock (_line)
        {
            if (_file != null)
            {
                _fileBuffer[_buffered++] = b;
                if (b == (byte)'\n' || _buffered == FlushAt) FlushFile();
            }
            if (b == (byte)'\n') LogLine();
            else if (b != (byte)'\r') _line.Add(b);
            if (_line.Count >= 4096) LogLine();
        }
    }

    /// <summary>
    /// A line of the VMM's own in the serial log ("[kraud-vmm] ..."), on a line of its own, so whoever reads the
    /// guest's console sees what happened to its devices (a share's back end that died) where the guest's
    /// output stops. The journal gets it from the caller, as a warning.
    /// </summary>
    public void Note(string text)
    {
        if (_file == null) return;
        lock (_line)
        {
            bool midLine = _line.Count > 0; // the guest's line so far, since its last newline
            FlushFile();
            byte[] bytes = Encoding.UTF8.GetBytes((midLine ? "\n" : "") + "[kraud-vmm] " + text + "\n");
            Native.WriteAll(_file.Fd, bytes);
        }
    }

    public void Flush()
    {
        lock (_line)
        {
            if (_file != null) FlushFile();
            if (_line.Count > 0) LogLine();
        }
    }

    private void FlushFile()
    {
        fixed (byte* p = _fileBuffer)
        {
            int done = 0;
            while (done < _buffered)
            {
                nint n = Native.write(_file!.Fd, p + done, _buffered - done);
                if (n <= 0) break; // a full disk must not stop the guest; the journal still has the line
                done += (int)n;
            }
        }
        _buffered = 0;
    }

    private void LogLine()
    {
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line));
        _line.Clear();
        using (_logger.BeginScope(_scope)) _logger.LogInformation("serial: {SerialLine}", text);
    }

    public void Dispose()
    {
        Flush();
        _file?.Dispose();
    }
}
