// Neutral driver of the engine benchmark: one clean nats-server, our AOT kraud-agent (host "ours") and peer.mjs
// (host "peer", npm nats) side by side; publishes N Probe envelopes per round to each, watches KRAUD_STATUS for
// Ready of that round's generation, and prints throughput and publish->Ready latency with the ratios.
//   node driver.mjs --bin ../../artifacts/bin/kraud-agent [--n 2000] [--concurrency 16] [--rounds 3]
//     [--sides ours,peer,peer-applied] [--profile 'strace -c -f -o {out} -p {pid}']
// Sides: "ours" is kraud-agent; "peer" is peer.mjs; "peer-applied" is peer.mjs --applied (it also records the
// applied spec per resource, as the agent does). --profile runs the command around every measured burst round of
// every side ({pid}: that side's process, {out}: <work>/profile-<side>-<gen>.txt, kept with --keep or printed).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, JSONCodec, KvWatchInclude } from "nats";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    bin: { type: "string", default: resolve(here, "../../artifacts/bin/kraud-agent") },
    n: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
    rate: { type: "string", default: "200" },
    "paced-n": { type: "string", default: "1000" },
    port: { type: "string", default: "14333" },
    "log-level": { type: "string", default: "warning" },
    sides: { type: "string", default: "ours,peer,peer-applied" },
    profile: { type: "string", default: "" },
    "profile-dir": { type: "string", default: "" },
    keep: { type: "boolean", default: false },
    spec: { type: "string", default: "alternate" },
    "work-root": { type: "string", default: "" },
  },
});
const RATE = Number(args.rate), PACED_N = Number(args["paced-n"]);
const N = Number(args.n), C = Number(args.concurrency), ROUNDS = Number(args.rounds), PORT = Number(args.port);
const url = `nats://127.0.0.1:${PORT}`;
// The temp dir of the run (nats-server's store, each side's state dir): under --work-root (e.g. /dev/shm, a tmpfs)
// or the system's temp dir. The state dirs' file system matters: see README, "file system".
const work = mkdtempSync(join(args["work-root"] || tmpdir(), "kraud-bench-engine-"));
const children = [];
const jc = JSONCodec();

function start(name, cmd, argv) {
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
  let tail = "";
  child.stderr.on("data", (d) => { tail = (tail + d).slice(-4000); });
  child.on("exit", (code, sig) => { if (!stopping) { console.error(`${name} exited (${code ?? sig}):\n${tail}`); process.exit(2); } });
  children.push(child);
  return child;
}
let stopping = false;
async function stopAll() {
  stopping = true;
  for (const c of children.reverse()) {
    if (c.exitCode !== null) continue;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await Promise.race([gone, sleep(10_000)]);
    if (c.exitCode === null) c.kill("SIGKILL");
  }
  if (!args.keep) rmSync(work, { recursive: true, force: true });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, probe, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await probe()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
const portOpen = () => new Promise((r) => {
  const s = createConnection(PORT, "127.0.0.1", () => { s.end(); r(true); });
  s.on("error", () => r(false));
});

// CPU seconds (user+system) a process has used so far, from /proc/<pid>/stat.
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

// Messages the side's own connection(s) sent to and received from the server so far (nats-server /connz).
const connName = (side) => (side === "ours" ? "kraud-agent ours" : `kraud-peer ${side}`);
async function connMsgs(side) {
  const r = await fetch(`http://127.0.0.1:${PORT + 1}/connz?limit=1024`);
  const z = await r.json();
  let sent = 0, recv = 0;
  for (const c of z.connections ?? []) if (c.name === connName(side)) { sent += c.in_msgs; recv += c.out_msgs; }
  return { sent, recv };
}

console.log(`load average at the start: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; work dir ${work}`);
// ---- setup --------------------------------------------------------------------------------------------------
const server = start("nats-server", "nats-server", ["-js", "-a", "127.0.0.1", "-p", String(PORT), "-m", String(PORT + 1), "-sd", join(work, "js")]);
await until("nats-server", portOpen);
const nc = await connect({ servers: url, name: "bench-driver" });
const js = nc.jetstream();
const jsm = await nc.jetstreamManager();

const procs = {};
const sides = args.sides.split(",");
for (const side of sides) {
  const stateDir = join(work, side);
  if (side === "ours") {
    const cfg = join(work, "ours.json");
    writeFileSync(cfg, JSON.stringify({ host: "ours", stateDir, concurrency: C, nats: { servers: [url] }, log: { level: args["log-level"] } }));
    procs.ours = start("kraud-agent", args.bin, ["run", "--config", cfg]);
  } else {
    if (!/^peer(-applied)?$/.test(side)) throw new Error(`unknown side ${side}: ours, peer or peer-applied`);
    const flags = side === "peer-applied" ? ["--applied"] : [];
    procs[side] = start(side, process.execPath, [join(here, "peer.mjs"), "--host", side, "--concurrency", String(C), "--server", url, "--state-dir", stateDir, ...flags]);
  }
  // Serving once its work consumer exists (both create it after the streams, before pulling).
  await until(`${side} serving`, async () => (await jsm.consumers.info("KRAUD_WORK", `work-${side}`)) !== null);
}
const kv = await js.views.kv("KRAUD_STATUS");

// ---- optional profiler around a round (the same for every side): started on the side's pid, stopped with SIGINT --
const profileDir = args["profile-dir"] || work;
async function startProfile(side, gen) {
  if (!args.profile) return null;
  const out = join(profileDir, `profile-${side}-${gen}.txt`);
  const argv = args.profile.replaceAll("{pid}", String(procs[side].pid)).replaceAll("{out}", out).split(/\s+/);
  const p = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise((r) => p.once("exit", r));
  await sleep(1000); // attached to every thread before the round starts
  return { out, stop: async () => { p.kill("SIGINT"); await Promise.race([exited, sleep(30_000)]); } };
}

// The spec of generation gen: the same every round (--spec same), or (--spec alternate, the default) changing each
// generation as a control plane's new generation does: {"holdMs":0} and {"holdMs":0,"fail":null} (the same no-op).
if (!["same", "alternate"].includes(args.spec)) throw new Error("--spec: same or alternate");
const specOf = (gen) => (args.spec === "alternate" && gen % 2 === 0 ? { holdMs: 0, fail: null } : { holdMs: 0 });

// ---- one round: N resources of one side, all at generation gen; published at once (rate 0) or paced at rate/s --
async function round(side, gen, N, rate) {
  const sent = new Float64Array(N), ready = new Float64Array(N);
  let done = 0;
  let finished;
  const allReady = new Promise((r) => { finished = r; });
  const watch = await kv.watch({ key: `${side}.probe.>`, include: KvWatchInclude.UpdatesOnly });
  (async () => {
    for await (const e of watch) {
      if (e.operation !== "PUT") continue;
      const t = performance.now();
      const s = e.json();
      if (s.phase !== "Ready" || s.generation !== gen) continue;
      const i = Number(s.id.slice(1));
      if (ready[i] !== 0) continue;
      ready[i] = t;
      if (++done === N) finished();
    }
  })();
  const msgs0 = await connMsgs(side);
  const cpu0 = { agent: cpuSeconds(procs[side].pid), server: cpuSeconds(server.pid) };
  const acks = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (rate > 0) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    const envelope = { apiVersion: "kraud.cloud/v1", kind: "Probe", id: `r${i}`, generation: gen, spec: specOf(gen) };
    sent[i] = performance.now();
    acks.push(js.publish(`kraud.desired.${side}.probe.r${i}`, jc.encode(envelope)));
  }
  await Promise.all(acks);
  const published = performance.now();
  const timeout = sleep(180_000).then(() => "timeout");
  if ((await Promise.race([allReady, timeout])) === "timeout") throw new Error(`${side} round gen ${gen}: only ${done}/${N} Ready after 180 s`);
  const cpu1 = { agent: cpuSeconds(procs[side].pid), server: cpuSeconds(server.pid) };
  const msgs1 = await connMsgs(side);
  watch.stop();
  const lat = Array.from(ready, (r, i) => r - sent[i]).sort((a, b) => a - b);
  const q = (p) => lat[Math.min(N - 1, Math.ceil(p * N) - 1)];
  const span = Math.max(...ready) - Math.min(...sent);
  return {
    side, gen, rate, pubMs: published - t0, rps: N / (span / 1000), p50: q(0.5), p99: q(0.99), max: lat[N - 1],
    sentPerRes: (msgs1.sent - msgs0.sent) / N, recvPerRes: (msgs1.recv - msgs0.recv) / N,
    agentCpuMs: ((cpu1.agent - cpu0.agent) * 1e6) / N, serverCpuMs: ((cpu1.server - cpu0.server) * 1e6) / N,
  };
}

// ---- rounds: round 0 is the warm-up; the order alternates each round --------------------------------------------
const results = [];
const gens = Object.fromEntries(sides.map((s) => [s, 0]));
const modes = [{ name: "burst", n: N, rate: 0 }];
if (RATE > 0 && PACED_N > 0) modes.push({ name: `paced ${RATE}/s`, n: PACED_N, rate: RATE });
try {
  for (const mode of modes) {
    for (let r = 0; r <= ROUNDS; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        await sleep(1000); // let the previous round's stragglers (heartbeats, fetch expiries) settle
        const profiling = r > 0 && mode.rate === 0 ? await startProfile(side, gens[side] + 1) : null;
        const res = await round(side, ++gens[side], mode.n, mode.rate);
        if (profiling) { await profiling.stop(); console.log(`profile of ${side} burst round ${r}: ${profiling.out}`); }
        res.mode = mode.name;
        res.warmup = r === 0;
        results.push(res);
        console.log(`${mode.name.padEnd(12)} ${res.warmup ? "warm-up" : `round ${r}  `} ${side.padEnd(12)}  ${res.rps.toFixed(0).padStart(6)} res/s  (published in ${res.pubMs.toFixed(0)} ms)  p50 ${res.p50.toFixed(1).padStart(7)} ms  p99 ${res.p99.toFixed(1).padStart(7)} ms  max ${res.max.toFixed(1).padStart(7)} ms  cpu/res: agent ${res.agentCpuMs.toFixed(0)} us, server ${res.serverCpuMs.toFixed(0)} us  msgs/res: sent ${res.sentPerRes.toFixed(2)} recv ${res.recvPerRes.toFixed(2)}`);
      }
    }
  }
} finally {
  await nc.close();
  await stopAll();
}

// ---- table --------------------------------------------------------------------------------------------------
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const peers = sides.includes("ours") ? sides.filter((s) => s !== "ours") : [];
const label = (s) => (s === "ours" ? "ours (kraud-agent AOT)" : s === "peer" ? "peer (npm nats)" : "peer + applied files (npm nats)");
const rows = [
  ["driver: all N published and acked after (ms)", "pubMs", 0], ["throughput (resources/s)", "rps", 0], ["p50 publish->Ready (ms)", "p50", 1], ["p99 publish->Ready (ms)", "p99", 1],
  ["max publish->Ready (ms)", "max", 1], ["agent CPU per resource (us)", "agentCpuMs", 0], ["nats-server CPU per resource (us)", "serverCpuMs", 0],
  ["messages agent->server per resource", "sentPerRes", 2], ["messages server->agent per resource", "recvPerRes", 2],
];
const summaries = {};
for (const mode of modes) {
  const summary = (summaries[mode.name] = {});
  for (const side of sides) {
    const rs = results.filter((r) => !r.warmup && r.mode === mode.name && r.side === side);
    summary[side] = Object.fromEntries(rows.map(([, k]) => [k, median(rs.map((r) => r[k]))]));
  }
  console.log(`\n${mode.name}: ${mode.n} Probe resources per round${mode.rate ? ` published at ${mode.rate}/s` : " published at once"}, spec ${args.spec === "same" ? "the same every round" : "changing every round"}, concurrency ${C}, median of ${ROUNDS} rounds per side (warm-up excluded, order alternating)`);
  const head = ["", ...sides.map(label), ...peers.map((p) => `ours/${p}`)];
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const [name, k, d] of rows) {
    if (mode.rate && (k === "rps" || k === "pubMs")) continue; // paced: throughput is the offered rate
    const cells = [name, ...sides.map((s) => summary[s][k].toFixed(d)), ...peers.map((p) => (summary.ours[k] / summary[p][k]).toFixed(2))];
    console.log(`| ${cells.join(" | ")} |`);
  }
}
for (const peer of peers) {
  const b = summaries.burst;
  const tput = b.ours.rps / b[peer].rps, p99 = b.ours.p99 / b[peer].p99;
  console.log(`\nburst vs ${peer}: throughput ratio ours/${peer} = ${tput.toFixed(2)} (goal >= 1.5: ${tput >= 1.5 ? "met" : "MISSED"}); p99 ratio = ${p99.toFixed(2)} (goal <= 0.5: ${p99 <= 0.5 ? "met" : "MISSED"})`);
  if (modes[1]) {
    const p = summaries[modes[1].name];
    const r = p.ours.p99 / p[peer].p99;
    console.log(`${modes[1].name} vs ${peer}: p99 ratio ours/${peer} = ${r.toFixed(2)} (goal <= 0.5: ${r <= 0.5 ? "met" : "MISSED"})`);
  }
}
console.log(`load average at the end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
process.exit(0);
