namespace Kraud.Testing;

/// <summary>A directory removed with everything in it when the test ends.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "kraud-test")
    {
        Path = Directory.CreateTempSubdirectory(prefix + "-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content)
    {
        string p = File(name);
        System.IO.File.WriteAllText(p, content);
        return p;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A server may still hold a file for a moment; the OS tmp cleaner takes the rest.
        }
    }
}
