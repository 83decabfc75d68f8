using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.Loader;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Kraud.Lane.Tests.Runner;

/// <summary>Runs the xunit v2 tests of one assembly that carry a trait, in this process, through xunit's
/// own execution engine. Inside the lane (QEMU/TCG) every process start and JIT costs seconds: `dotnet test`
/// starts the CLI, vstest.console and a testhost; this starts nothing. Results: console lines as tests end
/// and RESULTS_DIR/NAME.results.tsv (outcome, seconds, test name).</summary>
public static class InProcessXunit
{
    public sealed record Totals(int Passed, int Failed, int Skipped);

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A test runner: loads test assemblies by path, never trimmed.")]
    public static Totals Run(string dll, string trait, string value, string resultsDir)
    {
        var name = Path.GetFileNameWithoutExtension(dll);
        var clock = Stopwatch.StartNew();
        // The test assembly's own dependencies (projects under test, their packages) come from its deps.json;
        // what this runner already has (xunit, Kraud.Testing) is shared, one version per package tree-wide.
        var resolver = new AssemblyDependencyResolver(dll);
        AssemblyLoadContext.Default.Resolving += (ctx, n) =>
            resolver.ResolveAssemblyToPath(n) is { } p ? ctx.LoadFromAssemblyPath(p) : null;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, lib) =>
            resolver.ResolveUnmanagedDllToPath(lib) is { } p ? System.Runtime.InteropServices.NativeLibrary.Load(p) : 0;
        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(dll);
        // Tests find their files next to their assembly, as under vstest.
        AppContext.SetData("APP_CONTEXT_BASE_DIRECTORY", Path.GetDirectoryName(dll) + "/");

        var sink = new Sink(name);
        using var framework = new XunitTestFramework(sink);
        var options = new Options();
        options.SetValue("xunit.discovery.PreEnumerateTheories", false);
        using (var discoverer = framework.GetDiscoverer(Reflector.Wrap(assembly)))
        {
            discoverer.Find(includeSourceInformation: false, sink, options);
            sink.DiscoveryDone.WaitOne();
        }
        var selected = sink.Discovered
            .Where(tc => tc.Traits.TryGetValue(trait, out var values) && values.Contains(value))
            .ToList();
        Console.WriteLine($"lane-tests: {name}: {selected.Count} of {sink.Discovered.Count} tests have {trait}={value}");
        if (selected.Count > 0)
        {
            using var executor = framework.GetExecutor(assembly.GetName());
            executor.RunTests(selected, sink, options);
            sink.RunDone.WaitOne();
        }

        Directory.CreateDirectory(resultsDir);
        File.WriteAllLines(Path.Combine(resultsDir, name + ".results.tsv"), sink.Results);
        var totals = new Totals(sink.Passed, sink.Failed, sink.Skipped);
        Console.WriteLine($"lane-tests: {name}: {totals.Passed} passed, {totals.Failed} failed, {totals.Skipped} skipped ({clock.Elapsed.TotalSeconds:0.0} s)");
        return totals;
    }

    /// <summary>xunit's discovery and execution options: a plain bag of named values.</summary>
    private sealed class Options : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        private readonly Dictionary<string, object?> _values = new();
        public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out var v) && v is TValue t ? t : default!;
        public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
    }

    /// <summary>Collects discovery, prints each finished test as it ends, signals the end of each phase.</summary>
    private sealed class Sink(string assemblyName) : LongLivedMarshalByRefObject, IMessageSink
    {
        public readonly List<ITestCase> Discovered = [];
        public readonly List<string> Results = [];
        public readonly ManualResetEvent DiscoveryDone = new(false);
        public readonly ManualResetEvent RunDone = new(false);
        public int Passed, Failed, Skipped;

        public bool OnMessage(IMessageSinkMessage message)
        {
            lock (this)
            {
                switch (message)
                {
                    case ITestCaseDiscoveryMessage d: Discovered.Add(d.TestCase); break;
                    case IDiscoveryCompleteMessage: DiscoveryDone.Set(); break;
                    case ITestPassed p: Passed++; Record("PASS", p, ""); break;
                    case ITestSkipped s: Skipped++; Record("SKIP", s, s.Reason); break;
                    case ITestFailed f:
                        Failed++;
                        Record("FAIL", f, string.Join("\n", f.Messages.Zip(f.StackTraces, (m, st) => $"{m}\n{st}")));
                        break;
                    case IErrorMessage e:
                        Failed++;
                        Console.WriteLine($"lane-tests: {assemblyName}: ERROR {string.Join("\n", e.Messages)}\n{string.Join("\n", e.StackTraces)}");
                        Results.Add($"ERROR\t0\t{assemblyName}: {string.Join(" ", e.Messages).ReplaceLineEndings(" ")}");
                        break;
                    case ITestAssemblyFinished: RunDone.Set(); break;
                }
            }
            return true;
        }

        private void Record(string outcome, ITestResultMessage r, string detail)
        {
            Console.WriteLine($"  {outcome} {r.Test.DisplayName} [{r.ExecutionTime:0.0} s]");
            if (detail.Length > 0) Console.WriteLine("    " + detail.ReplaceLineEndings("\n    "));
            if (r.Output.Length > 0) Console.WriteLine("    output: " + r.Output.ReplaceLineEndings("\n    "));
            Results.Add($"{outcome}\t{r.ExecutionTime:0.000}\t{r.Test.DisplayName}");
        }
    }
}
