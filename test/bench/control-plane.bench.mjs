// Past ~1,000 nodes Prometheus does the fan-in: agents run with --metrics-listen
// --control-only, Prometheus finds them through the server's /sd, and the server carries only
// control. This measures that server with 10,000 simulated control connections (the agent's
// real Link: hello, zones, keepalive; no samples), in this process, against one server process:
//   - connecting all of them: hello → welcome latency, and how long the whole fleet took,
//   - steady state: server CPU and RSS, and a control round trip (ping → pong) p50/p99,
//   - /sd for the whole fleet: time and size.
// ZONESCOPE_CONTROL_NODES (default 10000) and ZONESCOPE_CONTROL_SECONDS (default 120).
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuSeconds, median, quantile, requireBuild, ROOT, rssMiB, startServer, waitUntil } from './lib/fleet.mjs';

const NODES = Number(process.env.ZONESCOPE_CONTROL_NODES ?? 10_000);
const SECONDS = Number(process.env.ZONESCOPE_CONTROL_SECONDS ?? 120);

const curl = (url) => new Promise((ok, fail) => {
  const t0 = performance.now();
  execFile('curl', ['-sf', '-o', '/dev/null', '-w', '%{size_download}', url], (e, out) => (e ? fail(e) : ok({ ms: performance.now() - t0, bytes: Number(out) })));
});

export async function run() {
  requireBuild();
  const { Link } = await import(pathToFileURL(join(ROOT, 'dist/agent/link.js')).href);
  const { PROTOCOL_VERSION } = await import(pathToFileURL(join(ROOT, 'dist/protocol/messages.js')).href);
  const server = await startServer(['--max-agent-connections', String(NODES + 100), '--max-nodes-per-token', String(NODES + 100)]);
  // where every simulated node says its own /metrics is (one listener stands in for them all)
  const own = createServer((_q, res) => res.end('')).listen(0, '127.0.0.1');
  await new Promise((r) => own.once('listening', r));
  const metricsUrl = `http://127.0.0.1:${own.address().port}/metrics`;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const links = [];
  const welcome = [];
  const rtt = [];
  try {
    console.log(`   ${NODES} control connections (hello, zones, keepalive; samples stay on the nodes), steady for ${SECONDS} s`);
    const t0 = Date.now();
    for (let i = 1; i <= NODES; i++) {
      const node = `ctl-${String(i).padStart(5, '0')}`;
      const link = new Link({
        url: `${server.url.replace('http', 'ws')}/agent`, token: server.token, log: quiet,
        hello: () => ({
          v: PROTOCOL_VERSION, type: 'hello', node, hostname: node, platform: 'illumos', simulated: true,
          tracer: { name: 'dtrace', available: false }, capabilities: ['vm', 'procs'], agentVersion: 'bench',
          epoch: t0, intervalS: 10, metricsUrl,
        }),
      });
      const started = performance.now();
      link.once('connected', () => welcome.push(performance.now() - started));
      link.on('message', (m) => m.type === 'pong' && rtt.push(performance.now() - m.time));
      link.sendZones([
        { name: 'global', brand: 'liveimg', state: 'running' },
        ...[1, 2, 3, 4].map((z) => ({ name: `${node}-z${z}`, uuid: `${node}-z${z}`, alias: `zone-${z}`, brand: 'joyent', state: 'running' })),
      ]);
      link.start();
      links.push(link);
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 50)); // a fleet comes up over a while, not in one tick
    }
    await waitUntil(`${NODES} connected`, () => welcome.length === NODES, 300_000);
    const rampS = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 10_000));

    const cpu0 = cpuSeconds(server.pid);
    const w0 = Date.now();
    const rss = [];
    // each node asks one control round trip every 10 s, spread over the 10 s
    let next = 0;
    const ticker = setInterval(() => {
      for (let k = 0; k < NODES / 100; k++) links[next++ % NODES].send({ v: PROTOCOL_VERSION, type: 'ping', time: performance.now() });
    }, 100);
    while (Date.now() - w0 < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 5000));
      rss.push(rssMiB(server.pid));
    }
    clearInterval(ticker);
    const cpu = (cpuSeconds(server.pid) - cpu0) / ((Date.now() - w0) / 1000);
    const sd = [];
    for (let i = 0; i < 5; i++) sd.push(await curl(`${server.url}/sd`));

    console.log(`   connecting: all ${NODES} in ${rampS.toFixed(1)} s; hello → welcome p50 ${quantile(welcome, 0.5).toFixed(1)} ms, p99 ${quantile(welcome, 0.99).toFixed(1)} ms`);
    console.log(`   steady: server CPU ${(cpu * 100).toFixed(1)}% of one core, RSS at plateau ${median(rss.slice(Math.floor(rss.length / 2))).toFixed(0)} MiB (max ${Math.max(...rss).toFixed(0)})`);
    console.log(`   control round trip (ping → pong) p50 ${quantile(rtt, 0.5).toFixed(1)} ms, p99 ${quantile(rtt, 0.99).toFixed(1)} ms over ${rtt.length}`);
    console.log(`   /sd of the whole fleet: ${median(sd.map((s) => s.ms)).toFixed(0)} ms, ${(sd[0].bytes / 1048576).toFixed(1)} MiB`);
  } finally {
    for (const l of links) l.stop();
    own.close();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
