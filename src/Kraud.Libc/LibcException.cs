using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>A failed system call: names the operation and carries errno, so callers can tell EEXIST from ENODEV.</summary>
public sealed class LibcException : IOException
{
    public LibcException(string operation, int errno)
        : base($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    public string Operation { get; }
    public int Errno { get; }

    /// <summary>Throws for the errno of the last P/Invoke marked SetLastError.</summary>
    public static LibcException FromLastError(string operation) => new(operation, Marshal.GetLastPInvokeError());
}
