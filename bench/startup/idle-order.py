#!/usr/bin/env python3
"""Writes src/Kraud.Agent/IdlePath.order: the managed methods an idle, connected `kraud-agent run` executes after its
start-up trim, which ILC then lays out next to each other (`--order`, `--method-layout:explicit` in the csproj).

Why: the trim (MemoryTrim) unmaps the binary's clean pages; what idling runs faults back in, and the kernel maps the
64 KiB around every page faulted (fault-around). Scattered over the code segment, ~1,300 idle methods (~400 KiB of
code) touched ~90 such windows, 6 MiB resident; grouped, they fill ~13 (bench/startup/README.md).

How: the agent runs under valgrind's callgrind (instruction-level, so a tail call or a jump into a method counts too)
with a local JetStream up; the counters are dumped once when it serves (start-up) and again after IDLE seconds, so
the second dump holds the trim, what runs once after serving (first heartbeat, reports; under valgrind its timing
against the trim differs from a real run's) and the idling; every instruction of it in the binary is mapped to its
symbol with the symbol table of the build's kraud-agent.dbg. Native runtime symbols (the GC, System.Native) are left
out: the C++ linker places them, not ILC. Re-run after a change to what idles (heartbeat, pulls, watches) and publish again; a name that no longer
exists is ignored by ILC, so a stale file costs resident memory, never correctness.

Usage: bench/startup/idle-order.py [BINARY] [IDLE_SECONDS] [--fresh]   (default artifacts/bin/kraud-agent, 45; needs
valgrind). Each run adds what it saw to the file; a few runs cover the idle path's rarer turns.
       bench/startup/idle-order.py [BINARY] --check   how many of the file's names the binary has; exit 1 under 90%."""
import bisect, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
args = [a for a in sys.argv[1:] if a not in ("--fresh", "--check")]
binary = os.path.abspath(args[0] if args else os.path.join(here, "../../artifacts/bin/kraud-agent"))
idle = float(args[1]) if len(args) > 1 else 45.0
order_file = os.path.join(here, "../../src/Kraud.Agent/IdlePath.order")
# Symbols the C++ linker lays out (runtime, System.Native, System.Security.Cryptography.Native, zlib): not ILC's to order.
NATIVE = re.compile(r"^(_Z|_init$|_start$|_fini$|main$|SystemNative_|CryptoNative_|GlobalizationNative_|CompressionNative_|"
                    r"BrotliNative|Rh|Uninstall|minipal_|inflate|deflate|crc32|adler32|local_|z_|zcalloc|zcfree|__libc|"
                    r"frame_dummy|register_tm|deregister_tm)")

symbols = subprocess.run(["nm", "-n", "--defined-only", binary + ".dbg"], capture_output=True, text=True, check=True).stdout
code = sorted((int(a, 16), n) for a, t, n in (l.split(" ", 2) for l in symbols.splitlines()) if t in "tTwW")
starts = [a for a, _ in code]
if "--check" in sys.argv:
    listed = [l.strip() for l in open(order_file) if l.strip()]
    present = sum(1 for n in listed if n in {n for _, n in code})
    print(f"{present} of {len(listed)} names in {os.path.relpath(order_file)} are in {os.path.relpath(binary)}")
    sys.exit(0 if present >= 0.9 * len(listed) else 1)

tmp = tempfile.mkdtemp(prefix="kraud-idle-order-")
# valgrind gives up on the .dbg beside the binary ("possibly corrupted debuginfo"): run a copy without it.
shutil.copy(binary, os.path.join(tmp, "kraud-agent"))
port = 25000 + os.getpid() % 2000
nats = subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", os.path.join(tmp, "js")],
                        stderr=subprocess.DEVNULL)
agent = None
try:
    until = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            if time.time() > until: raise SystemExit("nats-server not accepting")
            time.sleep(0.05)
    cfg = os.path.join(tmp, "agent.json")
    json.dump({"host": "idle-order", "stateDir": os.path.join(tmp, "state"),
               "nats": {"servers": [f"nats://127.0.0.1:{port}"]}, "log": {"level": "warning"}}, open(cfg, "w"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(tmp, "notify.sock"))
    notify.settimeout(120)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAUD_")}
    env["NOTIFY_SOCKET"] = os.path.join(tmp, "notify.sock")
    out = os.path.join(tmp, "callgrind.out")
    agent = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=yes",
                              "--compress-pos=no", "--compress-strings=no", os.path.join(tmp, "kraud-agent"), "run",
                              "--config", cfg], env=env, stderr=subprocess.DEVNULL)
    while b"STATUS=Ready: host" not in notify.recv(4096): pass
    served = time.time()
    for at in (0.0, idle):
        time.sleep(max(0.0, served + at - time.time()))
        subprocess.run(["callgrind_control", "-d", str(agent.pid)], check=True, stdout=subprocess.DEVNULL)
    # Where valgrind mapped the binary's code (position-independent: file offset = address in the symbol table).
    text = [(int(f[0].split("-")[0], 16), int(f[0].split("-")[1], 16), int(f[2], 16))
            for f in (l.split() for l in open(f"/proc/{agent.pid}/maps")) if f[1] == "r-xp" and f[-1].endswith("/kraud-agent")]
    time.sleep(1)
    dumps = sorted(f for f in os.listdir(tmp) if f.startswith("callgrind.out."))
    names = {}
    for line in open(os.path.join(tmp, dumps[1])):
        if not line.startswith("0x"): continue
        runtime = int(line.split()[0], 16)
        for start, end, offset in text:
            if start <= runtime < end:
                i = bisect.bisect_right(starts, runtime - start + offset) - 1
                if i >= 0 and not NATIVE.match(code[i][1]): names.setdefault(code[i][1], code[i][0])
finally:
    if agent is not None:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
    nats.terminate()
    nats.wait()
    shutil.rmtree(tmp, ignore_errors=True)

# One run sees what idling ran in its window (a pong, a thread's first inbox name, a retry may fall outside it), so
# the file accumulates: the names it held that the binary still has stay, then this run's new ones. --fresh starts over.
known = {n for _, n in code}
kept = [] if "--fresh" in sys.argv or not os.path.exists(order_file) else \
    [n for n in (l.strip() for l in open(order_file)) if n in known]
new = [n for n, _ in sorted(names.items(), key=lambda kv: kv[1]) if n not in set(kept)]
with open(order_file, "w") as f:
    f.writelines(n + "\n" for n in kept + new)
print(f"{len(names)} methods seen, {len(new)} new; {len(kept) + len(new)} in {os.path.relpath(order_file)}")
