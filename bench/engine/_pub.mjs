import { connect, JSONCodec } from "nats";
const nc = await connect({ servers: "nats://127.0.0.1:14444" }); const js = nc.jetstream(); const jc = JSONCodec();
const gen = Number(process.argv[2]); const t = performance.now(); const ps = [];
for (let i = 0; i < 400; i++) ps.push(js.publish(`kraud.desired.peer.probe.r${i}`, jc.encode({ apiVersion: "kraud.cloud/v1", kind: "Probe", id: `r${i}`, generation: gen, spec: { holdMs: 0 } })));
await Promise.all(ps); console.log("published in", performance.now() - t); await nc.close();
