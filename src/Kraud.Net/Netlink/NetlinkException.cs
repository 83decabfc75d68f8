using System.Runtime.InteropServices;

namespace Kraud.Net.Netlink;

/// <summary>
/// A request the kernel refused: names the operation, the errno and the kernel's extended-ack message
/// (when it sent one), e.g. <c>add link veth "a": File exists (EEXIST, errno 17)</c>.
/// </summary>
public sealed class NetlinkException : IOException
{
    public NetlinkException(string operation, int errno, string? kernelMessage = null, int? attributeOffset = null)
        : base(Format(operation, errno, kernelMessage))
    {
        Operation = operation;
        Errno = errno;
        KernelMessage = kernelMessage;
        AttributeOffset = attributeOffset;
        HResult = errno;
    }

    public string Operation { get; }
    public int Errno { get; }

    /// <summary>NLMSGERR_ATTR_MSG, when the kernel explained itself.</summary>
    public string? KernelMessage { get; }

    /// <summary>NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request.</summary>
    public int? AttributeOffset { get; }

    public bool IsNotFound => Errno is Kraud.Libc.Errno.ENODEV or Kraud.Libc.Errno.ENOENT or 3 /* ESRCH */ or 99 /* EADDRNOTAVAIL */;
    public bool IsExists => Errno == Kraud.Libc.Errno.EEXIST;

    private static string Format(string operation, int errno, string? kernelMessage)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        string name = ErrnoName(errno);
        return string.IsNullOrEmpty(kernelMessage)
            ? $"{operation}: {text} ({name}errno {errno})"
            : $"{operation}: {kernelMessage} ({text}; {name}errno {errno})";
    }

    private static string ErrnoName(int errno) => errno switch
    {
        1 => "EPERM, ", 2 => "ENOENT, ", 3 => "ESRCH, ", 4 => "EINTR, ", 11 => "EAGAIN, ", 16 => "EBUSY, ",
        17 => "EEXIST, ", 19 => "ENODEV, ", 22 => "EINVAL, ", 34 => "ERANGE, ", 53 => "EBADR, ", 90 => "EMSGSIZE, ",
        95 => "EOPNOTSUPP, ", 98 => "EADDRINUSE, ", 99 => "EADDRNOTAVAIL, ", 101 => "ENETUNREACH, ", 105 => "ENOBUFS, ",
        _ => "",
    };
}
