using System.Globalization;

namespace Kraud.Libc.Tests;

/// <summary>
/// This test assembly's entry point (the test SDK's generated one is turned off in the project), so a test can run
/// code in a fresh process whose thread pool nothing has touched yet: `dotnet exec THIS.dll pool-starvation NETNS`.
/// </summary>
public static class PoolStarvationProbe
{
    public const string Command = "pool-starvation";
    public const int Runs = 1000;

    public static int Main(string[] args) => args is [Command, var path] ? Run(path) : 64;

    /// <summary>
    /// Completes <see cref="Runs"/> runs in the namespace at <paramref name="path"/>, each while every pool thread is
    /// blocked (each continuation blocks until the end, and the pool may grow to one thread per run), so the pool
    /// must create a thread for every completion. Prints the namespace of every pool thread not in the original.
    /// </summary>
    private static int Run(string path)
    {
        using var ns = NetNs.Open(path);
        ulong home = NetNs.CurrentThreadInode(), target = ns.Inode;
        string homeLink = NamespaceOf("thread-self");
        var timeout = TimeSpan.FromSeconds(30);
        using var release = new ManualResetEventSlim();
        using var continued = new SemaphoreSlim(0);
        int runsInside = 0, continuationsElsewhere = 0;
        ThreadPool.GetMinThreads(out _, out int minIo);
        ThreadPool.SetMinThreads(Runs + 64, minIo);
        for (int i = 0; i < Runs; i++)
        {
            using var go = new ManualResetEventSlim();
            var run = ns.RunAsync(() =>
            {
                go.Wait(); // completes only after its continuation is registered
                return NetNs.CurrentThreadInode();
            });
            run.ContinueWith(t =>
            {
                if (t.Result == target) Interlocked.Increment(ref runsInside);
                if (NetNs.CurrentThreadInode() != home) Interlocked.Increment(ref continuationsElsewhere);
                continued.Release();
                release.Wait();
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            go.Set();
            if (!continued.Wait(timeout))
            {
                Console.WriteLine($"run {i}'s continuation did not start within {timeout.TotalSeconds} s");
                return 1;
            }
        }

        // Every pool thread (".NET TP Worker", ".NET TP Gate", ...), the blocked ones and any other.
        int poolThreads = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string tid = Path.GetFileName(dir), name, link;
            try
            {
                name = File.ReadAllText($"{dir}/comm").TrimEnd('\n');
                link = NamespaceOf($"self/task/{tid}");
            }
            catch (IOException)
            {
                continue; // the thread ended while we looked
            }
            if (!name.StartsWith(".NET TP", StringComparison.Ordinal)) continue;
            poolThreads++;
            if (link != homeLink) Console.WriteLine($"elsewhere {tid} {name}: {link} (home {homeLink})");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"runs-inside={runsInside}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"continuations-elsewhere={continuationsElsewhere}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pool-threads={poolThreads}"));
        release.Set();
        return 0;
    }

    private static string NamespaceOf(string task) => new FileInfo($"/proc/{task}/ns/net").LinkTarget ?? throw new IOException($"no ns link for {task}");
}
