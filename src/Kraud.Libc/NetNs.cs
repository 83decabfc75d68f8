using System.Runtime.ExceptionServices;

namespace Kraud.Libc;

/// <summary>
/// An open network namespace (a /run/netns/NAME or /proc/PID/ns/net file). Work "inside" it runs on a
/// fresh dedicated thread that calls setns, runs the work, calls setns back to the namespace it was born in and
/// only then hands over the result and exits, so no other thread, and never a thread-pool thread, ever changes
/// namespace or is created inside one. Sockets and fds made there keep the namespace and work from any thread.
/// </summary>
public sealed class NetNs : IDisposable
{
    public const int CLONE_NEWNET = 0x40000000;

    private readonly FileDescriptor _fd;

    private NetNs(FileDescriptor fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    /// <summary>The path it was opened from (for tools that take a path, e.g. nsenter --net=PATH).</summary>
    public string Path { get; }

    public int Fd => _fd.Fd;

    /// <summary>Opens a namespace file; the fd is close-on-exec.</summary>
    public static NetNs Open(string path)
    {
        int fd = Native.open(path, Native.O_RDONLY);
        if (fd < 0) throw LibcException.FromLastError($"open netns {path}");
        return new NetNs(new FileDescriptor(fd), path);
    }

    /// <summary>A namespace made by <c>ip netns add NAME</c>.</summary>
    public static NetNs OpenNamed(string name) => Open($"/run/netns/{name}");

    /// <summary>The namespace a process lives in.</summary>
    public static NetNs OpenProcess(int pid) => Open($"/proc/{pid}/ns/net");

    /// <summary>The namespace of the calling thread.</summary>
    public static NetNs OpenCurrent() => Open("/proc/thread-self/ns/net");

    /// <summary>Identity of this namespace (the nsfs inode), comparable with <see cref="CurrentThreadInode"/>.</summary>
    public unsafe ulong Inode
    {
        get
        {
            Native.Stat st;
            Native.Check(Native.fstat(Fd, &st), "fstat netns");
            return st.Ino;
        }
    }

    /// <summary>The nsfs inode of the calling thread's network namespace.</summary>
    public static ulong CurrentThreadInode()
    {
        using var ns = OpenCurrent();
        return ns.Inode;
    }

    /// <summary>Runs <paramref name="work"/> on a dedicated thread that has joined this namespace; blocks until done.</summary>
    public T Run<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = InsideThenBack(work);
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "netns",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <inheritdoc cref="Run{T}(Func{T})"/>
    public void Run(Action work) => Run(() => { work(); return 0; });

    /// <summary>Like <see cref="Run{T}"/>, without blocking the caller.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            T result = default!;
            Exception? failure = null;
            try
            {
                result = InsideThenBack(work);
            }
            catch (Exception e)
            {
                failure = e;
            }
            // Only now, back in the original namespace: completing queues continuations, and whatever thread that
            // makes (the thread pool injects workers from the thread that asks) inherits this thread's namespace.
            if (failure is null) tcs.SetResult(result);
            else tcs.SetException(failure);
        })
        {
            IsBackground = true,
            Name = "netns",
        };
        thread.Start();
        return tcs.Task;
    }

    /// <summary>
    /// On the dedicated thread: joins this namespace, runs <paramref name="work"/>, and returns to the namespace the
    /// thread was born in (its creator's) before anything else happens, whether the work returned or threw.
    /// </summary>
    private T InsideThenBack<T>(Func<T> work)
    {
        using var origin = OpenCurrent();
        Native.Check(Native.setns(Fd, CLONE_NEWNET), $"setns {Path}");
        try
        {
            return work();
        }
        finally
        {
            // A thread that cannot leave must not complete, signal or start anything: whatever it touched next
            // could carry the namespace into the rest of the process. Returning to a namespace we left cannot
            // fail short of a broken kernel, so stop here rather than run on somewhere unknown.
            if (Native.setns(origin.Fd, CLONE_NEWNET) != 0)
                Environment.FailFast($"netns: could not return from {Path} to the original network namespace (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
    }

    public void Dispose() => _fd.Dispose();
}
