using System.Runtime.InteropServices;

namespace Kraud.Zfs;

/// <summary>What went wrong, in words the reconcilers and the status message can act on.</summary>
public enum ZfsProblem { Other, NotFound, PoolMissing, Exists, NoSpace, Busy, InvalidArgument, PermissionDenied, Timeout }

/// <summary>A failed ZFS operation: names the dataset, the operation and the problem (from errno or stderr).</summary>
public sealed class ZfsException : IOException
{
    public ZfsException(string operation, string dataset, ZfsProblem problem, int errno, string detail)
        : base($"{operation} {dataset}: {Describe(problem)}{(detail.Length > 0 ? " (" + detail + ")" : "")}")
    {
        Operation = operation;
        Dataset = dataset;
        Problem = problem;
        Errno = errno;
    }

    public string Operation { get; }
    public string Dataset { get; }
    public ZfsProblem Problem { get; }
    public int Errno { get; }

    public static string Describe(ZfsProblem p) => p switch
    {
        ZfsProblem.NotFound => "does not exist",
        ZfsProblem.PoolMissing => "pool does not exist",
        ZfsProblem.Exists => "already exists",
        ZfsProblem.NoSpace => "out of space (pool or quota full)",
        ZfsProblem.Busy => "is busy (held, cloned, mounted or exported)",
        ZfsProblem.InvalidArgument => "invalid argument",
        ZfsProblem.PermissionDenied => "permission denied",
        ZfsProblem.Timeout => "timed out",
        _ => "failed",
    };

    /// <summary>From a libzfs_core return value; ENOENT becomes PoolMissing when the pool itself is gone.</summary>
    public static ZfsException FromErrno(string operation, string dataset, int errno, string? detail = null)
    {
        var problem = errno switch
        {
            Kraud.Libc.Errno.ENOENT => ZfsProblem.NotFound,
            Kraud.Libc.Errno.EEXIST => ZfsProblem.Exists,
            Kraud.Libc.Errno.ENOSPC => ZfsProblem.NoSpace,
            122 /* EDQUOT */ => ZfsProblem.NoSpace,
            Kraud.Libc.Errno.EBUSY => ZfsProblem.Busy,
            Kraud.Libc.Errno.EINVAL => ZfsProblem.InvalidArgument,
            Kraud.Libc.Errno.EPERM or Kraud.Libc.Errno.EACCES => ZfsProblem.PermissionDenied,
            _ => ZfsProblem.Other,
        };
        string text = errno < 1024 ? Marshal.GetPInvokeErrorMessage(errno) : $"ZFS error {errno}";
        return new ZfsException(operation, dataset, problem, errno, detail is null ? $"{text}, errno {errno}" : $"{detail}: {text}, errno {errno}");
    }

    /// <summary>From a zfs/zpool command's stderr: the words OpenZFS prints for each case.</summary>
    public static ZfsException FromStderr(string operation, string dataset, string stderr)
    {
        string s = stderr.Trim();
        var problem =
            s.Contains("no such pool", StringComparison.Ordinal) ? ZfsProblem.PoolMissing :
            s.Contains("does not exist", StringComparison.Ordinal) || s.Contains("could not find any snapshots", StringComparison.Ordinal) ? ZfsProblem.NotFound :
            s.Contains("already exists", StringComparison.Ordinal) ? ZfsProblem.Exists :
            s.Contains("out of space", StringComparison.Ordinal) || s.Contains("quota exceeded", StringComparison.Ordinal) || s.Contains("No space left", StringComparison.Ordinal) ? ZfsProblem.NoSpace :
            s.Contains("is busy", StringComparison.Ordinal) || s.Contains("has dependent clones", StringComparison.Ordinal) ? ZfsProblem.Busy :
            s.Contains("permission denied", StringComparison.OrdinalIgnoreCase) ? ZfsProblem.PermissionDenied :
            s.Contains("invalid", StringComparison.OrdinalIgnoreCase) || s.Contains("bad ", StringComparison.Ordinal) || s.Contains("must be", StringComparison.Ordinal)
                || s.Contains("invalid property", StringComparison.Ordinal) || s.Contains("read-only", StringComparison.Ordinal) ? ZfsProblem.InvalidArgument :
            ZfsProblem.Other;
        return new ZfsException(operation, dataset, problem, 0, s);
    }
}
