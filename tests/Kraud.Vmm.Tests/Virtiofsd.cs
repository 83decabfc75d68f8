using System.Diagnostics;

namespace Kraud.Vmm.Tests;

/// <summary>
/// Debian's virtiofsd (QEMU 7.2's C daemon) serving one directory on a socket, for as long as this object lives.
/// It has no read-only option of its own: a read-only share is a read-only bind mount of the directory that the
/// daemon serves (its namespace sandbox keeps the mount read-only), made and removed here.
/// </summary>
public sealed class Virtiofsd : IDisposable
{
    public const string Program = "/usr/lib/qemu/virtiofsd";
    private readonly Process _process;
    private readonly string? _readOnlyMount;
    private readonly System.Text.StringBuilder _stderr = new();

    private Virtiofsd(string directory, string socketPath, bool readOnly)
    {
        SocketPath = socketPath;
        string source = directory;
        if (readOnly)
        {
            _readOnlyMount = source = socketPath + ".ro";
            Directory.CreateDirectory(source);
            Run("/usr/bin/mount", "--bind", directory, source);
            Run("/usr/bin/mount", "-o", "remount,bind,ro", source);
        }
        var psi = new ProcessStartInfo(Program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { $"--socket-path={socketPath}", "-o", $"source={source}", "-o", "sandbox=namespace", "-o", "cache=auto", "--thread-pool-size=0" }) // as the agent runs it
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts the daemon and waits for its socket; throws with its stderr when it exits first.</summary>
    public static async Task<Virtiofsd> StartAsync(string directory, string socketPath, bool readOnly = false)
    {
        var daemon = new Virtiofsd(directory, socketPath, readOnly);
        try
        {
            await Deadline.WaitUntilAsync(() => File.Exists(socketPath) || daemon.HasExited, TimeSpan.FromSeconds(10), $"virtiofsd's socket {socketPath}");
            if (daemon.HasExited) throw new InvalidOperationException($"virtiofsd exited ({daemon._process.ExitCode}): {daemon.Stderr}");
            return daemon;
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    public string SocketPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public void Kill9() => Kraud.Libc.Native.kill(_process.Id, 9);

    public static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        if (_readOnlyMount != null)
        {
            Run("/usr/bin/umount", _readOnlyMount);
            Directory.Delete(_readOnlyMount);
        }
    }
}
