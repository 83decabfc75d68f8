using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Commands;
using Kraud.Zfs;
using Kraud.Zfs.Send;

namespace Kraud.Bench.Replication;

/// <summary>
/// `--split`: where the time of our transfer goes, each stage of the path alone in one run (zfs send into this
/// process; the TLS socket alone per cipher suite; the chunk framing alone; zfs receive fed from this process),
/// beside the pipe and the whole path.
/// </summary>
public static class Split
{
    public static async Task RunAsync(int mib, string certDir, Func<string, string, ReplicationTls> tlsOf)
    {
        var run = new ArgvRunner { DefaultTimeout = TimeSpan.FromHours(1) };
        var cli = new ZfsCli(run);
        var zfs = new ZfsApi(cli);
        var streams = new ZfsSendReceive(cli);
        string tag = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        string src = "kssrc" + tag, dst = "ksdst" + tag;
        var pools = new List<(string Pool, string File)>();
        foreach (var pool in new[] { src, dst })
        {
            string vdev = $"/var/tmp/{pool}.img";
            using (var f = new FileStream(vdev, FileMode.CreateNew)) f.SetLength(4L << 30);
            await run.RunCheckedAsync(["/usr/sbin/zpool", "create", "-f", "-o", "cachefile=none", "-O", "compression=off", "-O", "mountpoint=/var/tmp/" + pool, pool, vdev]);
            pools.Add((pool, vdev));
        }
        var rows = new List<(string, double)>();
        void Row(string what, long bytes, double s)
        {
            double rate = bytes / s / (1 << 20);
            rows.Add((what, rate));
            Console.WriteLine($"split: {what}: {bytes} bytes in {s:F1} s = {rate:F1} MiB/s");
        }
        try
        {
            string ds = VolumeDatasets.Name(src, "v1");
            zfs.EnsureParents(ds);
            zfs.CreateFilesystem(ds, null, null);
            await cli.MountAsync(ds);
            Fill($"/var/tmp/{src}/kraud/v1/data", mib);
            string snap = ds + "@repl-20261205T000000Z";
            zfs.Snapshot([snap]);
            zfs.EnsureParents($"{dst}/kraud/x");
            long size = await streams.EstimateAsync(snap);
            int n = 0;
            string Next() => $"{dst}/s{++n}";

            var sw = Stopwatch.StartNew();
            await run.RunCheckedAsync(["/bin/bash", "-c", $"/usr/sbin/zfs send {snap} | /usr/sbin/zfs receive -u {Next()}"]);
            Row("pipe: zfs send | zfs receive", size, sw.Elapsed.TotalSeconds);

            sw.Restart();
            await run.RunCheckedAsync(["/bin/bash", "-c", $"/usr/sbin/zfs send {snap} > /dev/null"]);
            Row("zfs send > /dev/null (shell)", size, sw.Elapsed.TotalSeconds);

            sw.Restart();
            long got = await streams.SendAsync(snap, null, Stream.Null);
            Row("zfs send -> this process (discarded)", got, sw.Elapsed.TotalSeconds);

            string file = $"/var/tmp/stream{tag}";
            await run.RunCheckedAsync(["/bin/bash", "-c", $"/usr/sbin/zfs send {snap} > {file}"]);
            sw.Restart();
            await run.RunCheckedAsync(["/bin/bash", "-c", $"/usr/sbin/zfs receive -u {Next()} < {file}"]);
            Row("zfs receive < file (shell)", size, sw.Elapsed.TotalSeconds);

            sw.Restart();
            await using (var f = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
                await streams.ReceiveAsync(Next(), f);
            Row("file -> this process -> zfs receive", size, sw.Elapsed.TotalSeconds);
            File.Delete(file);

            sw.Restart();
            got = await streams.TransferAsync(snap, null, Next());
            Row("zfs send -> this process -> zfs receive (no TLS)", got, sw.Elapsed.TotalSeconds);

            long memBytes = (long)mib << 20;
            foreach (var (name, suite) in new (string, TlsCipherSuite?)[] { ("default", null), ("AES-128-GCM", TlsCipherSuite.TLS_AES_128_GCM_SHA256),
                         ("AES-256-GCM", TlsCipherSuite.TLS_AES_256_GCM_SHA384), ("ChaCha20-Poly1305", TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256) })
            {
                var (secs, negotiated) = await TlsOnlyAsync(memBytes, tlsOf, suite);
                Row($"TLS loopback only, memory to memory, {name} ({negotiated})", memBytes, secs);
            }
            Row("framing only (chunks over plain loopback TCP)", memBytes, await FramingOnlyAsync(memBytes));
            // The same TLS 1.3 (AES-128-GCM) socket without .NET: OpenSSL through socat, a tmpfs file into /dev/null.
            string plain = $"/var/tmp/socat{tag}";
            Fill(plain, mib);
            sw.Restart();
            await run.RunCheckedAsync(["/bin/bash", "-c", SocatScript(certDir, 17390, $"cat {plain}", "STDOUT > /dev/null")]);
            Row("TLS loopback only, file to /dev/null, socat (OpenSSL) AES-128-GCM", memBytes, sw.Elapsed.TotalSeconds);
            File.Delete(plain);

            var ours = new LoopbackTransport(zfs, streams, dst, host => tlsOf(certDir, host));
            sw.Restart();
            var r = await ours.Sender.SendAsync("v1", ds, ours.Target, snap);
            if (r.Error is not null) throw new InvalidOperationException(r.Error);
            Row("ours: whole path", r.Bytes, sw.Elapsed.TotalSeconds);
            await ours.DisposeAsync();

            Console.WriteLine($"\nsplit, {mib} MiB incompressible, one lane run");
            Console.WriteLine("| stage | MiB/s |");
            Console.WriteLine("|---|---:|");
            foreach (var (what, rate) in rows) Console.WriteLine($"| {what} | {rate:F1} |");
        }
        finally
        {
            foreach (var (pool, file) in pools)
            {
                await run.RunAsync(["/usr/sbin/zpool", "destroy", "-f", pool]);
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// `--host-transport`: the same transport on this machine's own CPU (no ZFS here, no TCG): `cat FILE` into the
    /// sender's pump, chunks, TLS over loopback, the receiver's pump into `dd of=/dev/null`, beside `cat | dd`.
    /// </summary>
    public static async Task HostTransportAsync(int mib, string certDir, Func<string, string, ReplicationTls> tlsOf)
    {
        var run = new ArgvRunner { DefaultTimeout = TimeSpan.FromHours(1) };
        string file = Path.Combine(certDir, "data");
        Fill(file, mib);
        long bytes = (long)mib << 20;
        var rows = new List<(string, double)>();
        void Row(string what, double s)
        {
            rows.Add((what, bytes / s / (1 << 20)));
            Console.WriteLine($"host: {what}: {bytes} bytes in {s:F2} s = {bytes / s / (1 << 20):F0} MiB/s");
        }
        for (int round = 0; round < 2; round++) // the first round warms the JIT and the page cache
        {
            rows.Clear();
            var sw = Stopwatch.StartNew();
            await run.RunCheckedAsync(["/bin/bash", "-c", $"cat {file} | dd of=/dev/null bs=1M status=none"]);
            Row("pipe: cat | dd", sw.Elapsed.TotalSeconds);
            foreach (var (name, suite) in new (string, TlsCipherSuite?)[] { ("transport's policy", null), ("AES-256-GCM only", TlsCipherSuite.TLS_AES_256_GCM_SHA384) })
            {
                var (c, srv) = await PairAsync();
                await using var cs = new SslStream(new NetworkStream(c, true));
                await using var ss = new SslStream(new NetworkStream(srv, true));
                var co = tlsOf(certDir, "h1").ClientOptions("h2");
                if (suite is { } one) co.CipherSuitesPolicy = new CipherSuitesPolicy([one]);
                await Task.WhenAll(cs.AuthenticateAsClientAsync(co), ss.AuthenticateAsServerAsync(tlsOf(certDir, "h2").ServerOptions()));
                sw.Restart();
                var send = run.RunPipedAsync(["/bin/cat", file], null, CliWrap.PipeTarget.Create(async (stdout, ct) =>
                {
                    StreamPump.GrowPipe(stdout);
                    if (round == 0) Console.WriteLine($"host: cat's stdout is a {stdout.GetType().Name}, pipe size {PipeSize(stdout)}");
                    var chunks = new ChunkWriteStream(cs);
                    await StreamPump.CopyAsync(stdout, chunks, null, ct);
                    await chunks.EndAsync(ct);
                }));
                var receive = run.RunPipedAsync(["/bin/dd", "of=/dev/null", "bs=1M", "status=none"], CliWrap.PipeSource.Create(async (stdin, ct) =>
                {
                    StreamPump.GrowPipe(stdin);
                    await StreamPump.CopyAsync(new ChunkReadStream(ss), stdin, null, ct);
                }), null);
                (await send).EnsureSuccess();
                (await receive).EnsureSuccess();
                Row($"ours: cat -> pump -> TLS ({cs.NegotiatedCipherSuite}) loopback -> pump -> dd ({name})", sw.Elapsed.TotalSeconds);
            }
        }
        Console.WriteLine($"\nhost transport, {mib} MiB, this machine's CPU (second round)");
        Console.WriteLine("| path | MiB/s |");
        Console.WriteLine("|---|---:|");
        foreach (var (what, rate) in rows) Console.WriteLine($"| {what} | {rate:F0} |");
    }

    /// <summary>
    /// A bash script: socat listening with h2's certificate writes what it receives to <paramref name="into"/> (its
    /// STDOUT and the rest of that shell pipeline); socat with h1's sends the output of the command <paramref name="feed"/>;
    /// TLS 1.3 only, AES-128-GCM (tls13.cnf), mutual.
    /// </summary>
    public static string SocatScript(string certDir, int port, string feed, string into)
    {
        string F(string n) => Path.Combine(certDir, n);
        string tls = $"cafile={F("ca.pem")},verify=1,openssl-min-proto-version=TLS1.3";
        return $"set -o pipefail; export OPENSSL_CONF={F("tls13.cnf")}; " +
            $"/usr/bin/socat -u -b 131072 OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,cert={F("h2.pem")},key={F("h2.key")},{tls} {into} & r=$!; " +
            $"{feed} | /usr/bin/socat -u -b 131072 STDIN OPENSSL:127.0.0.1:{port},retry=600,interval=0.1,commonname=h2,cert={F("h1.pem")},key={F("h1.key")},{tls} || {{ kill $r; exit 1; }}; wait $r";
    }

    private static int PipeSize(Stream s) => s is System.IO.Pipes.PipeStream p ? Kraud.Libc.Native.fcntl((int)p.SafePipeHandle.DangerousGetHandle(), 1032 /* F_GETPIPE_SZ */, 0) : -1;

    private static void Fill(string path, int mib)
    {
        var buffer = new byte[1 << 20];
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        for (int i = 0; i < mib; i++) { RandomNumberGenerator.Fill(buffer); f.Write(buffer); }
    }

    private static async Task<(Socket Client, Socket Server)> PairAsync()
    {
        using var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listen.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listen.AcceptAsync();
        await client.ConnectAsync(listen.LocalEndPoint!);
        return (client, await accept);
    }

    private static async Task<(double Seconds, string Suite)> TlsOnlyAsync(long bytes, Func<string, string, ReplicationTls> tlsOf, TlsCipherSuite? suite)
    {
        var (c, s) = await PairAsync();
        await using var cs = new SslStream(new NetworkStream(c, true));
        await using var ss = new SslStream(new NetworkStream(s, true));
        string dir = Environment.GetEnvironmentVariable("SPLIT_CERTS")!;
        var co = tlsOf(dir, "h1").ClientOptions("h2");
        var so = tlsOf(dir, "h2").ServerOptions();
        if (suite is { } one) co.CipherSuitesPolicy = new CipherSuitesPolicy([one]);
        await Task.WhenAll(cs.AuthenticateAsClientAsync(co), ss.AuthenticateAsServerAsync(so));
        var sw = Stopwatch.StartNew();
        var write = Task.Run(async () =>
        {
            var buf = new byte[1 << 20];
            RandomNumberGenerator.Fill(buf);
            for (long left = bytes; left > 0; left -= buf.Length) await cs.WriteAsync(buf.AsMemory(0, (int)Math.Min(left, buf.Length)));
            await cs.FlushAsync();
        });
        var rbuf = new byte[1 << 20];
        for (long got = 0; got < bytes;)
        {
            int n = await ss.ReadAsync(rbuf);
            if (n == 0) throw new IOException("TLS stream ended early");
            got += n;
        }
        await write;
        return (sw.Elapsed.TotalSeconds, cs.NegotiatedCipherSuite.ToString());
    }

    private static async Task<double> FramingOnlyAsync(long bytes)
    {
        var (c, s) = await PairAsync();
        await using var cn = new NetworkStream(c, true);
        await using var sn = new NetworkStream(s, true);
        var sw = Stopwatch.StartNew();
        var write = Task.Run(async () =>
        {
            var w = new ChunkWriteStream(cn);
            var buf = new byte[1 << 20];
            for (long left = bytes; left > 0; left -= buf.Length) await w.WriteAsync(buf.AsMemory(0, (int)Math.Min(left, buf.Length)));
            await w.EndAsync(default);
        });
        await new ChunkReadStream(sn).CopyToAsync(Stream.Null, 1 << 20);
        await write;
        return sw.Elapsed.TotalSeconds;
    }
}
