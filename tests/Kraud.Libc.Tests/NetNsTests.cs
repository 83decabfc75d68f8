using Kraud.Net.Netlink;
using Kraud.Net.Rtnl;

namespace Kraud.Libc.Tests;

/// <summary>Work inside a namespace happens on its own thread; no other thread ever changes namespace.</summary>
public class NetNsTests
{
    [Fact]
    public async Task RunHappensInsideAndNeverLeaksIntoOtherThreads()
    {
        using var ns = new TestNetns();
        ulong home = NetNs.CurrentThreadInode();
        ulong target = ns.Ns.Inode;
        Assert.NotEqual(home, target);

        Assert.Equal(target, ns.Ns.Run(NetNs.CurrentThreadInode));
        Assert.Equal(target, await ns.Ns.RunAsync(NetNs.CurrentThreadInode));
        Assert.Equal(home, NetNs.CurrentThreadInode());

        // Many runs in parallel while pool threads keep looking at their own namespace.
        int poolThreadsElsewhere = 0;
        using var stop = new CancellationTokenSource();
        var watchers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (NetNs.CurrentThreadInode() != home) Interlocked.Increment(ref poolThreadsElsewhere);
                await Task.Yield();
            }
        })).ToArray();
        var runs = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => ns.Ns.RunAsync(NetNs.CurrentThreadInode)));
        stop.Cancel();
        await Task.WhenAll(watchers);
        Assert.All(runs, inode => Assert.Equal(target, inode));
        Assert.Equal(0, poolThreadsElsewhere);
        Assert.Equal(home, NetNs.CurrentThreadInode());
    }

    [Fact]
    public async Task ARunCompletesOnlyAfterItsThreadIsBackHome()
    {
        // Completing a run queues its continuation on the completing thread; a scheduler (like the thread pool when
        // it injects a worker) may start a thread right there, and that thread inherits the completer's namespace.
        using var ns = new TestNetns();
        ulong home = NetNs.CurrentThreadInode();
        var scheduler = new ThreadPerTaskScheduler();
        using var go = new ManualResetEventSlim();
        var run = ns.Ns.RunAsync(() =>
        {
            go.Wait(); // completes only once the continuation is registered
            return NetNs.CurrentThreadInode();
        });
        var continued = run.ContinueWith(_ => NetNs.CurrentThreadInode(), CancellationToken.None, TaskContinuationOptions.None, scheduler);
        go.Set();
        ulong continuedIn = await continued;
        Assert.Equal(ns.Ns.Inode, await run);
        Assert.Equal(home, scheduler.QueuedFromInode);
        Assert.Equal(home, continuedIn);

        using var goFail = new ManualResetEventSlim();
        var failed = ns.Ns.RunAsync<ulong>(() =>
        {
            goFail.Wait();
            throw new InvalidOperationException("boom");
        });
        var failureContinued = failed.ContinueWith(_ => NetNs.CurrentThreadInode(), CancellationToken.None, TaskContinuationOptions.None, scheduler);
        goFail.Set();
        ulong failureContinuedIn = await failureContinued;
        Assert.Equal("boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed)).Message);
        Assert.Equal(home, failureContinuedIn);
    }

    /// <summary>Runs each task on a new thread started by whichever thread queues it (as a pool injecting a worker does).</summary>
    private sealed class ThreadPerTaskScheduler : TaskScheduler
    {
        public ulong QueuedFromInode { get; private set; }

        protected override void QueueTask(Task task)
        {
            QueuedFromInode = NetNs.CurrentThreadInode();
            new Thread(() => TryExecuteTask(task)) { IsBackground = true }.Start();
        }

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

        protected override IEnumerable<Task> GetScheduledTasks() => [];
    }

    [Fact]
    public void RunsCompletingWhileThePoolStarvesNeverPutAPoolThreadInside()
    {
        // In a fresh process (as the agent is after a start), the first run to complete is the first to ask the
        // thread pool for a worker: the pool creates that worker, and its gate thread, which injects workers under
        // starvation for the rest of the process's life, on the asking thread. Created inside, they and every
        // worker they create would live in the namespace. So the 1,000 runs happen in a process of their own.
        using var ns = new TestNetns();
        var (code, output) = Cmd.TryRun("dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "Kraud.Libc.Tests.dll"), PoolStarvationProbe.Command, ns.Ns.Path);
        Assert.True(code == 0, $"the probe exited {code}:\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var report = lines.Where(l => l.Contains('=')).Select(l => l.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        var elsewhere = lines.Where(l => l.StartsWith("elsewhere ", StringComparison.Ordinal)).ToList();
        Assert.Equal(PoolStarvationProbe.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture), report["runs-inside"]);
        Assert.True(int.Parse(report["pool-threads"], System.Globalization.CultureInfo.InvariantCulture) >= PoolStarvationProbe.Runs,
            $"expected at least {PoolStarvationProbe.Runs} pool threads (one per blocked continuation): {output}");
        Assert.Empty(elsewhere);
        Assert.Equal("0", report["continuations-elsewhere"]);
    }

    [Fact]
    public void OpenByProcessAndCurrentAgree()
    {
        using var byPid = NetNs.OpenProcess(Environment.ProcessId);
        using var current = NetNs.OpenCurrent();
        Assert.Equal(current.Inode, byPid.Inode);
        using var ns = new TestNetns();
        Assert.NotEqual(current.Inode, ns.Ns.Inode);
        // A handle opened inside (the dedicated thread's own namespace) names the same namespace.
        using var inside = ns.Ns.Run(NetNs.OpenCurrent);
        Assert.Equal(ns.Ns.Inode, inside.Inode);
    }

    [Fact]
    public void FailureInsideSurfacesToTheCaller()
    {
        using var ns = new TestNetns();
        var e = Assert.Throws<InvalidOperationException>(() => ns.Ns.Run<int>(() => throw new InvalidOperationException("boom")));
        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public async Task SocketOpenedInANamespaceStaysThereFromAnyThread()
    {
        using var ns = new TestNetns();
        using var inside = RtNetlink.Open(ns.Ns);
        inside.LinkAdd(new BridgeSpec("only-there"));
        using var here = RtNetlink.Open();
        Assert.Null(here.LinkFind("only-there"));
        Assert.NotNull(await Task.Run(() => inside.LinkFind("only-there")));
    }

    [Fact]
    public void OpeningAMissingNamespaceNamesThePath()
    {
        var e = Assert.Throws<LibcException>(() => NetNs.OpenNamed("kn-does-not-exist"));
        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Contains("/run/netns/kn-does-not-exist", e.Message);
    }

    [Fact]
    public void LateReplyOfAnAbandonedRequestIsSkipped()
    {
        using var ns = new TestNetns();
        ns.Rtnl.LinkAdd(new BridgeSpec("late0"));
        // A GETLINK for lo whose reply (RTM_NEWLINK + ACK) is still queued when the next request runs.
        using (var b = new NetlinkMessageBuilder(18, 0))
        {
            b.Reserve(16);
            b.AddString(3, "lo");
            ns.Rtnl.Socket.SendAndAbandon(b);
        }
        Assert.Equal("late0", ns.Rtnl.LinkGet("late0").Name);
        Assert.Equal(["late0", "lo"], ns.Rtnl.LinkList().Select(l => l.Name).Order());
    }

    [Fact]
    public void NetlinkPortIdsAreDistinctPerSocket()
    {
        using var a = NetlinkSocket.Open(Nl.NETLINK_ROUTE);
        using var b = NetlinkSocket.Open(Nl.NETLINK_ROUTE);
        Assert.NotEqual(a.PortId, b.PortId);
        Assert.NotEqual(0u, a.PortId);
    }
}
