namespace Kraud.Lane.Tests.Runner;

/// <summary>Entry point of Kraud.Lane.Tests.dll when started with `dotnet` rather than by vstest's testhost:
/// the in-lane test runner (tests/lane/test-in-lane). vstest does not use it (GenerateProgramFile is off
/// only so this Main can exist).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length < 3 || args[0] != "run")
        {
            Console.Error.WriteLine("usage: dotnet Kraud.Lane.Tests.dll run TRAIT=VALUE RESULTS_DIR TEST.dll...");
            return 2;
        }
        var eq = args[1].IndexOf('=');
        if (eq <= 0) { Console.Error.WriteLine($"not a trait filter: {args[1]}"); return 2; }
        var (trait, value) = (args[1][..eq], args[1][(eq + 1)..]);
        var failed = 0;
        foreach (var dll in args.Skip(3)) failed += InProcessXunit.Run(Path.GetFullPath(dll), trait, value, args[2]).Failed;
        return failed == 0 ? 0 : 1;
    }
}
