using Kraud.Libc;

namespace Kraud.Vmm.Machine;

/// <summary>
/// The VMM's one event loop: poll(2) over queue-notify eventfds, taps and a stop eventfd, on a dedicated thread.
/// A source can opt out while it has nothing to do (a tap with no guest receive buffers), re-checked each round.
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private readonly List<(int Fd, Func<bool> Wanted, Action OnReady)> _sources = [];
    private readonly FileDescriptor _stop = NewEventFd();
    private readonly FileDescriptor _wake = NewEventFd();

    public static FileDescriptor NewEventFd() =>
        new(Native.Check(Native.eventfd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK), "eventfd"));

    /// <summary>Adds a source before <see cref="Run"/> starts.</summary>
    public void Add(int fd, Func<bool> wanted, Action onReady) => _sources.Add((fd, wanted, onReady));

    /// <summary>Makes the loop re-check which sources it wants (after a source's wish changed on another thread).</summary>
    public void Wake() => Signal(_wake.Fd);

    public void Stop() => Signal(_stop.Fd);

    public static void Drain(int eventFd)
    {
        ulong value;
        Native.read(eventFd, &value, 8);
    }

    /// <summary>Adds one to an eventfd's counter: it becomes readable.</summary>
    public static void Signal(int fd)
    {
        ulong one = 1;
        Native.write(fd, &one, 8);
    }

    /// <summary>Runs until <see cref="Stop"/>; exceptions from a source end the loop and reach the caller.</summary>
    public void Run()
    {
        var fds = new Poll.PollFd[_sources.Count + 2];
        var active = new int[_sources.Count];
        while (true)
        {
            fds[0] = new Poll.PollFd { Fd = _stop.Fd, Events = Poll.POLLIN };
            fds[1] = new Poll.PollFd { Fd = _wake.Fd, Events = Poll.POLLIN };
            int n = 2;
            for (int i = 0; i < _sources.Count; i++)
            {
                if (!_sources[i].Wanted()) continue;
                active[n - 2] = i;
                fds[n++] = new Poll.PollFd { Fd = _sources[i].Fd, Events = Poll.POLLIN };
            }
            int ready;
            fixed (Poll.PollFd* p = fds) ready = Poll.poll(p, (nuint)n, -1);
            if (ready < 0)
            {
                if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                throw LibcException.FromLastError("poll");
            }
            if (fds[0].Revents != 0) return;
            if (fds[1].Revents != 0) Drain(_wake.Fd);
            for (int j = 2; j < n; j++)
                if (fds[j].Revents != 0) _sources[active[j - 2]].OnReady();
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        _wake.Dispose();
    }
}
