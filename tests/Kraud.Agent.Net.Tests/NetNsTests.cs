using Kraud.Agent.Net.Netlink;
using Kraud.Agent.Net.Rtnl;
using Kraud.Libc;

namespace Kraud.Agent.Net.Tests;

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
        // The thread pool creates a worker on the thread that asks for one, and a thread inherits its creator's
        // namespace: a run that completes (and so queues its continuation) from inside would grow the pool there.
        using var ns = new TestNetns();
        string home = NamespaceOf("thread-self");
        ulong homeInode = NetNs.CurrentThreadInode();
        ulong target = ns.Ns.Inode;
        const int Runs = 1000;
        var timeout = TimeSpan.FromSeconds(30);
        using var release = new ManualResetEventSlim();
        using var continued = new SemaphoreSlim(0);
        int continuationsElsewhere = 0, runsElsewhere = 0;
        ThreadPool.GetMinThreads(out int minWorkers, out int minIo);
        try
        {
            // Every continuation blocks a pool thread until the end, and the goal is far above the pool's size: each
            // completion finds no idle worker, so the pool creates one at once, on the thread that completes the run.
            ThreadPool.SetMinThreads(ThreadPool.ThreadCount + Runs + 64, minIo);
            for (int i = 0; i < Runs; i++)
            {
                using var go = new ManualResetEventSlim();
                var run = ns.Ns.RunAsync(() =>
                {
                    go.Wait(); // completes only after its continuation is registered
                    return NetNs.CurrentThreadInode();
                });
                run.ContinueWith(t =>
                {
                    if (t.Result != target) Interlocked.Increment(ref runsElsewhere);
                    if (NetNs.CurrentThreadInode() != homeInode) Interlocked.Increment(ref continuationsElsewhere);
                    continued.Release();
                    release.Wait();
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                go.Set();
                Assert.True(continued.Wait(timeout), $"run {i}'s continuation did not start within {timeout.TotalSeconds} s");
            }

            // Every pool thread, the ones blocked above and any other, lives in the original namespace.
            var poolThreads = PoolThreadNamespaces();
            Assert.True(poolThreads.Count >= Runs, $"expected at least {Runs} pool threads, found {poolThreads.Count}");
            Assert.Empty(poolThreads.Where(t => t.Namespace != home).Select(t => $"{t.Tid} {t.Name}: {t.Namespace}"));
            Assert.Equal(0, runsElsewhere);
            Assert.Equal(0, continuationsElsewhere);
        }
        finally
        {
            release.Set();
            ThreadPool.SetMinThreads(minWorkers, minIo);
        }
    }

    private static string NamespaceOf(string task) => new FileInfo($"/proc/{task}/ns/net").LinkTarget ?? throw new IOException($"no ns link for {task}");

    /// <summary>The network namespace of every live thread-pool thread (named ".NET TP Worker", ".NET TP Gate", ...).</summary>
    private static List<(string Tid, string Name, string Namespace)> PoolThreadNamespaces()
    {
        var found = new List<(string, string, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string tid = System.IO.Path.GetFileName(dir);
            string name, link;
            try
            {
                name = File.ReadAllText($"{dir}/comm").TrimEnd('\n');
                link = NamespaceOf($"self/task/{tid}");
            }
            catch (IOException)
            {
                continue; // the thread ended while we looked
            }
            if (name.StartsWith(".NET TP", StringComparison.Ordinal)) found.Add((tid, name, link));
        }
        return found;
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
