// Sequential round trips with npm nats, the same operations as rtt/Program.cs.
//   node rtt.mjs nats://127.0.0.1:PORT [count]
import { connect } from "nats";
const url = process.argv[2] ?? "nats://127.0.0.1:4222", count = Number(process.argv[3] ?? 2000);
const nc = await connect({ servers: url, name: "rtt-js" });
const js = nc.jetstream(), jsm = await nc.jetstreamManager();
await jsm.streams.add({ name: "RTT", subjects: ["rtt.>"], max_msgs_per_subject: 1 }).catch(() => {});
await jsm.streams.add({ name: "RTTD", subjects: ["rttd.>"], max_msgs_per_subject: 1, allow_direct: true }).catch(() => {});
const payload = new TextEncoder().encode('{"desiredSeq":1}');
await js.publish("rtt.js", payload);
await js.publish("rttd.js", payload);
async function measure(what, op) {
  for (let i = 0; i < count / 10; i++) await op();
  const t = new Float64Array(count);
  for (let i = 0; i < count; i++) { const t0 = performance.now(); await op(); t[i] = performance.now() - t0; }
  t.sort();
  const mean = t.reduce((a, b) => a + b, 0) / count;
  console.log(`js   ${what.padEnd(30)} p50 ${t[count >> 1].toFixed(3)} ms  p90 ${t[Math.floor(count * 0.9)].toFixed(3)} ms  mean ${mean.toFixed(3)} ms`);
}
await measure("ping (PING/PONG)", () => nc.flush());
await measure("js publish + PubAck", () => js.publish("rtt.js", payload));
await measure("STREAM.MSG.GET last_by_subj", () => jsm.streams.getMessage("RTT", { last_by_subj: "rtt.js" }));
await measure("DIRECT.GET last_by_subj", () => jsm.direct.getMessage("RTTD", { last_by_subj: "rttd.js" }));
await nc.close();
