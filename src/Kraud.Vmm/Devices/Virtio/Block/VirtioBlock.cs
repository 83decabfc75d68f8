using System.Buffers.Binary;
using System.Text;
using Kraud.Libc;
using Kraud.Vmm.Memory;
using Microsoft.Win32.SafeHandles;

namespace Kraud.Vmm.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 section 5.2) over a file or block device: read, write, flush (fdatasync) and the
/// device ID, one request queue. A read-only disk announces VIRTIO_BLK_F_RO and fails writes with IOERR.
/// </summary>
public sealed class VirtioBlock : IVirtioDevice, IDisposable
{
    public const uint TypeBlock = 2;
    private const ulong FeatureRo = 1UL << 5, FeatureFlush = 1UL << 9;
    private const uint TypeIn = 0, TypeOut = 1, TypeFlush = 4, TypeGetId = 8;
    private const byte StatusOk = 0, StatusIoErr = 1, StatusUnsupported = 2;
    private const int SectorSize = 512, IdLength = 20;

    private readonly SafeFileHandle _file;
    private readonly byte[] _id = new byte[IdLength];
    private GuestMemory? _memory;
    private IReadOnlyList<SplitQueue> _queues = [];
    private Action _signalUsed = () => { };

    public VirtioBlock(string path, bool readOnly, string serial)
    {
        ReadOnly = readOnly;
        int fd = Native.Check(Native.open(path, readOnly ? Native.O_RDONLY : Native.O_RDWR), $"open {path}");
        _file = new SafeFileHandle(fd, ownsHandle: true);
        long size = Native.lseek(fd, 0, Native.SEEK_END); // works for block devices, where st_size is 0
        if (size < 0) { _file.Dispose(); throw LibcException.FromLastError($"lseek {path}"); }
        // A read-only disk may be any file (a pod's image layer is the compressed blob itself): its last partial sector
        // is readable, zero-filled past the end, so the guest sees every byte. A writable disk keeps whole sectors.
        CapacitySectors = readOnly ? ((ulong)size + SectorSize - 1) / SectorSize : (ulong)size / SectorSize;
        Encoding.ASCII.GetBytes(serial.AsSpan(0, Math.Min(serial.Length, IdLength)), _id);
    }

    public bool ReadOnly { get; }
    public ulong CapacitySectors { get; }
    public uint DeviceType => TypeBlock;
    public ulong DeviceFeatures => FeatureFlush | (ReadOnly ? FeatureRo : 0);
    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [256];

    public void ReadConfig(ulong offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(config, CapacitySectors);
        data.Clear();
        if (offset < 8) config[(int)offset..Math.Min(8, (int)offset + data.Length)].CopyTo(data);
    }

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data) { }

    public void Activate(GuestMemory memory, IReadOnlyList<SplitQueue> queues, ulong negotiatedFeatures, Action signalUsed)
    {
        _memory = memory;
        _queues = queues;
        _signalUsed = signalUsed;
    }

    public void Reset() => _memory = null;

    public void ProcessQueue(int queue)
    {
        if (_memory is not { } memory) return;
        var q = _queues[0];
        bool used = false;
        while (true)
        {
            DescriptorChain? chain;
            try { chain = q.Pop(memory); }
            catch (InvalidChainException) { break; } // a broken ring: stop serving it rather than guess
            if (chain == null) break;
            uint written = Execute(memory, chain);
            q.PushUsed(memory, chain.Head, written);
            used = true;
        }
        if (used) _signalUsed();
    }

    /// <summary>Runs one request; returns the bytes written into the chain (data plus the status byte).</summary>
    private uint Execute(GuestMemory memory, DescriptorChain chain)
    {
        var d = chain.Descriptors;
        if (d.Count < 2 || d[0].Writable || d[0].Length < 16 || !d[^1].Writable || d[^1].Length < 1) return 0;
        Span<byte> header = stackalloc byte[16];
        memory.Read(d[0].Address, header);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        var status = d[^1];
        uint dataWritten = 0;
        byte result;
        try
        {
            result = type switch
            {
                TypeIn => Transfer(memory, d, sector, toGuest: true, ref dataWritten),
                TypeOut => ReadOnly ? StatusIoErr : Transfer(memory, d, sector, toGuest: false, ref dataWritten),
                TypeFlush => Native.fdatasync((int)_file.DangerousGetHandle()) == 0 ? StatusOk : StatusIoErr,
                TypeGetId => WriteId(memory, d, ref dataWritten),
                _ => StatusUnsupported,
            };
        }
        catch (IOException) { result = StatusIoErr; }
        memory.Write(status.Address, result);
        return dataWritten + 1;
    }

    private byte Transfer(GuestMemory memory, IReadOnlyList<Descriptor> d, ulong sector, bool toGuest, ref uint written)
    {
        long offset = (long)(sector * SectorSize);
        for (int i = 1; i < d.Count - 1; i++)
        {
            var desc = d[i];
            if (desc.Writable != toGuest) return StatusIoErr;
            if ((ulong)offset + desc.Length > CapacitySectors * SectorSize) return StatusIoErr;
            var span = memory.GetSpan(desc.Address, (int)desc.Length);
            if (toGuest)
            {
                int done = 0;
                while (done < span.Length)
                {
                    int n = RandomAccess.Read(_file, span[done..], offset + done);
                    if (n == 0 && ReadOnly) { span[done..].Clear(); break; } // the tail of the last partial sector
                    if (n <= 0) return StatusIoErr;
                    done += n;
                }
                written += desc.Length;
            }
            else
            {
                RandomAccess.Write(_file, span, offset);
            }
            offset += desc.Length;
        }
        return StatusOk;
    }

    private byte WriteId(GuestMemory memory, IReadOnlyList<Descriptor> d, ref uint written)
    {
        if (d.Count < 3 || !d[1].Writable) return StatusIoErr;
        int n = (int)Math.Min(d[1].Length, IdLength);
        memory.Write(d[1].Address, _id.AsSpan(0, n));
        written += (uint)n;
        return StatusOk;
    }

    public void Dispose() => _file.Dispose();
}
