// The peer of the benchmark: kraud-agent's work loop (contract sections 1-4) written with the official NATS
// JavaScript client, step for step as src/Kraud.Agent/Work does it, so the driver can compare the two engines.
//   node peer.mjs --host peer --concurrency 16 --server nats://127.0.0.1:4222 --state-dir DIR [--applied]
// --applied: also record the applied spec per resource as the agent does (AppliedSpecs: temp file + rename).
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  AckPolicy, connect, DeliverPolicy, DiscardPolicy, JSONCodec, RetentionPolicy, StorageType,
} from "nats";

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "peer" },
    concurrency: { type: "string", default: "16" },
    server: { type: "string", default: "nats://127.0.0.1:4222" },
    "state-dir": { type: "string", default: "/tmp/kraud-bench-peer" },
    applied: { type: "boolean", default: false },
  },
});
const host = args.host;
const concurrency = Number(args.concurrency);
const stateDir = args["state-dir"];
mkdirSync(stateDir, { recursive: true });

const DESIRED = "KRAUD_DESIRED", WORK = "KRAUD_WORK";
const ACK_WAIT_MS = 30_000, BUSY = 10077, WRONG_LAST = 10071, NS = 1_000_000_000;
const jc = JSONCodec();

const nc = await connect({ servers: args.server, name: `kraud-peer ${host}` });
const js = nc.jetstream();
const jsm = await nc.jetstreamManager();

// Stream setup as StreamSetup/StreamLayout: create when absent, keep what is there otherwise.
async function ensureStream(cfg) {
  try {
    await jsm.streams.info(cfg.name);
  } catch (e) {
    if (e.api_error?.err_code !== 10059) throw e;
    try { await jsm.streams.add(cfg); } catch (c) { if (c.api_error?.err_code !== 10058) throw c; }
  }
}
await ensureStream({
  name: DESIRED, subjects: ["kraud.desired.>"], retention: RetentionPolicy.Limits, max_msgs_per_subject: 1,
  discard: DiscardPolicy.Old, storage: StorageType.File, num_replicas: 1, duplicate_window: 120 * NS,
});
await ensureStream({
  name: WORK, subjects: ["kraud.work.>"], retention: RetentionPolicy.Workqueue, max_msgs_per_subject: 1,
  discard: DiscardPolicy.New, discard_new_per_subject: true, duplicate_window: 120 * NS,
  storage: StorageType.File, num_replicas: 1,
});
const consumerBase = { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: ACK_WAIT_MS * 1e6, max_deliver: -1 };
await jsm.consumers.add(DESIRED, { ...consumerBase, durable_name: `dispatch-${host}`, filter_subject: `kraud.desired.${host}.>`, max_ack_pending: 1024 });
await jsm.consumers.add(WORK, { ...consumerBase, durable_name: `work-${host}`, filter_subject: `kraud.work.${host}.>`, max_ack_pending: concurrency });
const kv = await js.views.kv("KRAUD_STATUS", { history: 1, storage: StorageType.File, replicas: 1 });
const dispatchConsumer = await js.consumers.get(DESIRED, `dispatch-${host}`);
const workConsumer = await js.consumers.get(WORK, `work-${host}`);

const grow = (firstMs, maxMs, attempt) => Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 20));

// Dispatcher: desired message -> work token {"desiredSeq": N} with Nats-Msg-Id d-N; 10077 -> -NAK with back-off.
async function dispatchOne(m) {
  const seq = m.info.streamSequence;
  const parts = m.subject.split(".");
  if (parts.length !== 5) { m.term(); return; }
  const workSubject = `kraud.work.${parts[2]}.${parts[3]}.${parts[4]}`;
  try {
    await js.publish(workSubject, jc.encode({ desiredSeq: seq }), { msgID: `d-${seq}` });
    m.ack();
  } catch (e) {
    if (e.api_error?.err_code === BUSY) { m.nak(grow(250, 5000, m.info.redeliveryCount)); return; }
    console.error(`dispatch of ${m.subject} failed: ${e.message}`);
  }
}

// One consume() (a standing pull, topped up once a quarter of it has arrived) instead of a fetch per batch: no per-batch SUB/UNSUB and
// no waiting for a whole batch to settle before the next pull. Each message is dispatched as it arrives.
async function dispatchLoop() {
  for (;;) {
    try {
      const iter = await dispatchConsumer.consume({ max_messages: 64, expires: 5000, idle_heartbeat: 2000 });
      for await (const m of iter) dispatchOne(m);
    } catch (e) {
      console.error(`dispatch consume failed: ${e.message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

// probe.log: opened once, one write(2) per line (the agent's ProbeReconciler opens, appends and closes per line).
const probeFd = openSync(join(stateDir, "probe.log"), "a");
function probeLog(what, env, attempt) {
  const ns = process.hrtime.bigint();
  writeSync(probeFd, `${what} ${env.id} ${env.generation} ${attempt} ${process.pid} ${ns}\n`);
}

// AppliedSpecs.Save: <stateDir>/applied/<kind>/<id>.json replaced whole (temp file, then rename), no fsync; as the
// agent does, a spec this process last wrote unchanged to a file that still exists is not written again.
const appliedDirs = new Set();
const appliedKnown = new Map(); // path -> the spec text last written
function saveApplied(kindToken, id, spec) {
  const dir = join(stateDir, "applied", kindToken);
  const path = join(dir, `${id}.json`), text = JSON.stringify(spec);
  if (appliedKnown.get(path) === text && existsSync(path)) return;
  if (!appliedDirs.has(dir)) { mkdirSync(dir, { recursive: true, mode: 0o700 }); appliedDirs.add(dir); }
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
  appliedKnown.set(path, text);
}

function parseEnvelope(data, kindToken, id) {
  if (data.length > 256 * 1024) throw new Error("envelope over 256 KiB");
  const env = JSON.parse(new TextDecoder().decode(data));
  if (env.apiVersion !== "kraud.cloud/v1") throw new Error("apiVersion");
  if (typeof env.kind !== "string" || env.kind.toLowerCase() !== kindToken) throw new Error("kind");
  if (env.id !== id) throw new Error("id");
  if (!Number.isInteger(env.generation) || env.generation < 1) throw new Error("generation");
  if (typeof env.spec !== "object" || env.spec === null) throw new Error("spec");
  return env;
}

// StatusWriter: compare-and-set so a status never goes back a generation. The revision this peer wrote last per key
// is kept: when nobody wrote since, one update by that revision is enough; on 10071 (wrong last sequence) it
// reads and decides again, as src/Kraud.Agent/Status/StatusWriter.cs does.
const written = new Map(); // key -> { rev, gen }
async function writeStatus(kindToken, id, env, phase, attempt, observed) {
  const key = `${host}.${kindToken}.${id}`;
  const value = jc.encode({
    host, kind: env.kind, id, generation: env.generation, phase, message: "", attempts: attempt,
    observed: observed ?? {}, updatedAt: new Date().toISOString(),
  });
  const mine = written.get(key);
  if (mine && env.generation >= mine.gen) {
    try {
      written.set(key, { rev: await kv.update(key, value, mine.rev), gen: env.generation });
      return;
    } catch (e) {
      if (e.api_error?.err_code !== WRONG_LAST) throw e;
    }
  }
  for (let i = 0; i < 5; i++) {
    const current = await kv.get(key);
    try {
      if (!current || current.operation !== "PUT") { written.set(key, { rev: await kv.create(key, value), gen: env.generation }); return; }
      if (current.json().generation > env.generation) return;
      written.set(key, { rev: await kv.update(key, value, current.revision), gen: env.generation });
      return;
    } catch {
      // Someone wrote in between: read again and decide again.
    }
  }
}

const trace = process.env.PEER_TRACE ? { n: 0, get: 0, ack: 0, status: 0, fetchWait: 0 } : null;
async function work(m) {
  const t0 = performance.now();
  const [, , tokHost, kindToken, id] = m.subject.split(".");
  const attempt = m.info.redeliveryCount;
  // Held while working: a confirmed +WPI every ack_wait/3.
  const hold = setInterval(() => { nc.request(m.reply, new TextEncoder().encode("+WPI"), { timeout: 5000 }).catch(() => {}); }, ACK_WAIT_MS / 3);
  let progressing = null;
  try {
    if (tokHost !== host) { clearInterval(hold); m.term(); return; }
    const desired = await jsm.streams.getMessage(DESIRED, { last_by_subj: `kraud.desired.${host}.${kindToken}.${id}` }).catch((e) => {
      if (e.api_error?.err_code === 10037) return null; throw e;
    });
    const t1 = performance.now();
    if (!desired) { clearInterval(hold); await m.ackAck(); return; }
    const env = parseEnvelope(desired.data, kindToken, id);
    progressing = setTimeout(() => writeStatus(kindToken, id, env, "Progressing", attempt, null), 250);
    probeLog("enter", env, attempt);
    const observed = { heldMs: env.spec.holdMs ?? 0, pid: process.pid };
    probeLog("exit", env, attempt);
    clearTimeout(progressing);
    clearInterval(hold);
    const t2 = performance.now();
    if (!(await m.ackAck())) return;
    const t3 = performance.now();
    if (args.applied) {
      try { saveApplied(kindToken, id, env.spec); } catch (e) { console.error(`applied ${id}: ${e.message}`); }
    }
    await writeStatus(kindToken, id, env, "Ready", attempt, observed);
    if (trace) {
      trace.n++; trace.get += t1 - t0; trace.ack += t3 - t2; trace.status += performance.now() - t3;
      if (trace.n % 200 === 0) console.error(`trace n=${trace.n} get ${(trace.get / trace.n).toFixed(2)} ack ${(trace.ack / trace.n).toFixed(2)} status ${(trace.status / trace.n).toFixed(2)} ms avg`);
    }
  } catch (e) {
    clearTimeout(progressing);
    clearInterval(hold);
    console.error(`work on ${m.subject} failed: ${e.message}`);
    m.nak(grow(1000, 60000, attempt));
  }
}

// Work engine: one consume() with max_messages = concurrency; the server's max_ack_pending (= concurrency) bounds
// what is delivered, so at most `concurrency` tokens are worked on at once. Each token is started as it arrives.
let running = 0, maxRunning = 0;
async function workLoop() {
  for (;;) {
    try {
      const iter = await workConsumer.consume({ max_messages: concurrency, expires: 5000, idle_heartbeat: 2000 });
      for await (const m of iter) {
        if (++running > maxRunning) maxRunning = running;
        work(m).finally(() => { running--; });
      }
    } catch (e) {
      console.error(`work consume failed: ${e.message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

console.log(`peer ${host} serving (concurrency ${concurrency}${args.applied ? ", applied specs recorded" : ""})`);
process.on("SIGTERM", async () => {
  if (trace) console.error(`trace: at most ${maxRunning} tokens worked on at once (concurrency ${concurrency})`);
  await nc.drain().catch(() => {});
  closeSync(probeFd);
  process.exit(0);
});
await Promise.all([dispatchLoop(), workLoop()]);
