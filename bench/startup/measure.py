#!/usr/bin/env python3
"""Startup and footprint of the AOT binary: exec -> READY=1, idle RSS, SIGTERM -> exit. Several runs, median.
Peer for scale: `nats-server` exec -> accepting connections, measured the same way.
Usage: bench/startup/measure.py [path/to/kraud-agent]"""
import os, socket, statistics, subprocess, sys, tempfile, time, signal, json

binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../artifacts/bin/kraud-agent")
tmp = tempfile.mkdtemp(prefix="kraud-bench-")
cfg = os.path.join(tmp, "agent.json")
json.dump({"host": "bench", "stateDir": os.path.join(tmp, "state"), "nats": {"servers": ["nats://127.0.0.1:1"]}}, open(cfg, "w"))

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

ready, stop, rss = [], [], []
for i in range(7):
    path = os.path.join(tmp, f"notify{i}.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); s.settimeout(10)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAUD_")}
    env["NOTIFY_SOCKET"] = path
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "run", "--config", cfg], env=env, stderr=subprocess.DEVNULL)
    while b"READY=1" not in s.recv(4096):
        pass
    ready.append((time.perf_counter() - t0) * 1000)
    time.sleep(1.0)  # idle
    rss.append(rss_kib(p.pid))
    t1 = time.perf_counter(); p.send_signal(signal.SIGTERM); p.wait(); stop.append((time.perf_counter() - t1) * 1000)
    s.close(); os.unlink(path)

peer = []
for i in range(5):
    port = 20000 + os.getpid() % 10000 + i
    t0 = time.perf_counter()
    p = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port)], stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.05).close(); break
        except OSError:
            time.sleep(0.001)
    peer.append((time.perf_counter() - t0) * 1000)
    p.terminate(); p.wait()

size = os.path.getsize(binary)
print(f"binary size            {size/1048576:.1f} MiB  ({binary})")
print(f"exec -> READY=1        median {statistics.median(ready):.1f} ms  (min {min(ready):.1f}, max {max(ready):.1f})")
print(f"idle RSS after 1 s     median {statistics.median(rss)/1024:.1f} MiB")
print(f"SIGTERM -> exit        median {statistics.median(stop):.1f} ms")
print(f"peer: nats-server exec -> accepting  median {statistics.median(peer):.1f} ms; ratio ours/peer {statistics.median(ready)/statistics.median(peer):.2f}")
