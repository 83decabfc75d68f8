// Peer side of bench/nats: the same four scenarios as Kraud.Nats.Bench, with the official client.
// Usage: node peer.mjs <nats-url> <coreMsgs> <requests> <jsMsgs>; prints one JSON line of results.
import { connect, headers, AckPolicy, RetentionPolicy, DiscardPolicy, StorageType, nanos } from "nats";

const [url, coreN, reqN, jsN] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
const payload = new Uint8Array(128);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const now = () => Number(process.hrtime.bigint()) / 1000; // microseconds

const pub = await connect({ servers: url });
const subc = await connect({ servers: url });
const out = {};

// 1. core publish -> subscribe throughput
{
  let got = 0;
  const done = new Promise((resolve) => {
    const sub = subc.subscribe("bench.core");
    (async () => { for await (const _ of sub) { if (++got === coreN) { resolve(); break; } } })();
  });
  await subc.flush();
  const t0 = now();
  for (let i = 0; i < coreN; i++) pub.publish("bench.core", payload);
  await done;
  out.coreMsgsPerSec = coreN / ((now() - t0) / 1e6);
}

// 2. request/reply latency
{
  const sub = subc.subscribe("bench.echo");
  (async () => { for await (const m of sub) m.respond(m.data); })();
  await subc.flush();
  for (let i = 0; i < reqN / 5; i++) await pub.request("bench.echo", payload, { timeout: 5000 }); // warm-up (JIT)
  const lat = [];
  for (let i = 0; i < reqN; i++) { const t = now(); await pub.request("bench.echo", payload, { timeout: 5000 }); lat.push(now() - t); }
  out.requestP50Us = pct(lat, 0.5); out.requestP99Us = pct(lat, 0.99);
}

// 3. JetStream publish with ack, one at a time
const jsm = await pub.jetstreamManager();
try { await jsm.streams.delete("BENCH_PEER"); } catch {}
await jsm.streams.add({ name: "BENCH_PEER", subjects: ["benchpeer.>"], retention: RetentionPolicy.Workqueue,
  max_msgs_per_subject: 1, discard: DiscardPolicy.New, discard_new_per_subject: true, storage: StorageType.File });
const js = pub.jetstream();
{
  const lat = [];
  const t0 = now();
  for (let i = 0; i < jsN; i++) { const t = now(); await js.publish(`benchpeer.k${i}`, payload, { msgID: `m-${i}` }); lat.push(now() - t); }
  out.jsPublishPerSec = jsN / ((now() - t0) / 1e6);
  out.jsPublishP50Us = pct(lat, 0.5); out.jsPublishP99Us = pct(lat, 0.99);
}

// 4. JetStream consume with confirmed acks
{
  await jsm.consumers.add("BENCH_PEER", { durable_name: "w", ack_policy: AckPolicy.Explicit, ack_wait: nanos(30000), max_ack_pending: 1000 });
  const c = await js.consumers.get("BENCH_PEER", "w");
  const t0 = now();
  let got = 0;
  const msgs = await c.consume({ max_messages: 100 });
  for await (const m of msgs) { await m.ackAck(); if (++got === jsN) break; }
  out.jsConsumeAckPerSec = jsN / ((now() - t0) / 1e6);
}

console.log(JSON.stringify(out));
await pub.close(); await subc.close();
process.exit(0);
