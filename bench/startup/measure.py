#!/usr/bin/env python3
"""Startup and footprint of the AOT binary, with a local JetStream up: exec -> READY=1, exec -> serving (connected,
streams and buckets set up), idle RSS once serving, SIGTERM -> exit. Several interleaved runs, median.
Each binary given is measured in the same run (e.g. the current one beside a previous release's), and the peer for
scale: `nats-server` exec -> accepting connections, measured the same way.
Usage: bench/startup/measure.py [kraud-agent ...]   (default: artifacts/bin/kraud-agent)"""
import json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

binaries = sys.argv[1:] or [os.path.join(os.path.dirname(__file__), "../../artifacts/bin/kraud-agent")]
tmp = tempfile.mkdtemp(prefix="kraud-bench-")
port = 21000 + os.getpid() % 5000
nats = subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", os.path.join(tmp, "js")],
                        stderr=subprocess.DEVNULL)


def wait_port(p, timeout=10):
    until = time.time() + timeout
    while time.time() < until:
        try:
            socket.create_connection(("127.0.0.1", p), 0.05).close()
            return
        except OSError:
            time.sleep(0.005)
    raise SystemExit(f"port {p} not accepting")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def run_once(binary, i):
    state = os.path.join(tmp, f"state-{i}")
    cfg = os.path.join(tmp, f"agent-{i}.json")
    json.dump({"host": f"bench{i % 3}", "stateDir": state, "nats": {"servers": [f"nats://127.0.0.1:{port}"]},
               "log": {"level": "warning"}}, open(cfg, "w"))
    path = os.path.join(tmp, f"notify{i}.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAUD_")}
    env["NOTIFY_SOCKET"] = path
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "run", "--config", cfg], env=env, stderr=subprocess.DEVNULL)
    ready = serving = None
    while serving is None:
        msg = s.recv(4096)
        now = (time.perf_counter() - t0) * 1000
        if ready is None and b"READY=1" in msg:
            ready = now
        if b"STATUS=Ready: host" in msg:
            serving = now
    time.sleep(2.0)  # idle, connected: heartbeats and pulls running
    rss = rss_kib(p.pid)
    t1 = time.perf_counter()
    p.send_signal(signal.SIGTERM)
    p.wait()
    stop = (time.perf_counter() - t1) * 1000
    s.close()
    os.unlink(path)
    shutil.rmtree(state, ignore_errors=True)
    return ready, serving, rss, stop


try:
    wait_port(port)
    results = {b: [] for b in binaries}
    for i in range(7):
        for b in binaries:  # interleaved, so load changes hit every binary alike
            results[b].append(run_once(b, i))
    peer = []
    for i in range(5):
        pp = port + 1 + i
        t0 = time.perf_counter()
        p = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(pp)], stderr=subprocess.DEVNULL)
        wait_port(pp)
        peer.append((time.perf_counter() - t0) * 1000)
        p.terminate()
        p.wait()
    med = statistics.median
    print(f"load average {os.getloadavg()[0]:.2f}; 7 runs each, medians (min-max)")
    print("| binary | size | exec -> READY=1 | exec -> serving | idle RSS, connected | SIGTERM -> exit |")
    print("|---|---:|---:|---:|---:|---:|")
    for b, rs in results.items():
        r, sv, rss, st = zip(*rs)
        print(f"| {b} | {os.path.getsize(b) / 1048576:.1f} MiB | {med(r):.1f} ms ({min(r):.1f}-{max(r):.1f}) | "
              f"{med(sv):.1f} ms | {med(rss) / 1024:.1f} MiB ({min(rss) / 1024:.1f}-{max(rss) / 1024:.1f}) | {med(st):.1f} ms |")
    print(f"| peer: nats-server exec -> accepting | | {med(peer):.1f} ms | | | |")
finally:
    nats.terminate()
    nats.wait()
    shutil.rmtree(tmp, ignore_errors=True)
