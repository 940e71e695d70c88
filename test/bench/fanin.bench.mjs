// Fan-in: a simulated fleet (default 1,000 SmartOS nodes, 10 s interval, this process) against
// one server process on loopback, measured after every node is up and a warm-up:
//   - server CPU (% of one core) and RSS (at plateau: the median of the last half's readings),
//   - frame → stored latency: send of a samples frame to its ack (the server acks once stored),
//   - scrape time of the whole fleet's /metrics and of one node's, by curl (its own process, as
//     Prometheus is), against the same series in a plain prom-client Registry (the baseline).
// Goals (issue: fleet scale): ≤ 15% of a core, RSS ≤ 512 MiB, stored p99 ≤ 50 ms, scrape ≤ 1 s.
// ZONESCOPE_FANIN_NODES and ZONESCOPE_FANIN_SECONDS (default 300) change the run.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { cpuSeconds, histogramQuantile, median, quantile, requireBuild, ROOT, rssMiB, startFleet, startServer, upCount, waitUntil } from './lib/fleet.mjs';

const NODES = Number(process.env.ZONESCOPE_FANIN_NODES ?? 1000);
const SECONDS = Number(process.env.ZONESCOPE_FANIN_SECONDS ?? 300);
const INTERVAL_S = 10;

const curl = (url) => new Promise((ok, fail) => {
  const t0 = performance.now();
  execFile('curl', ['-sf', '-o', '/dev/null', url], (e) => (e ? fail(e) : ok(performance.now() - t0)));
});

/** The exposition text as prom-client gauges behind node:http, scraped by curl: what a plain
 * prom-client server would answer. */
async function promClientBaseline(text) {
  const client = createRequire(`${ROOT}/package.json`)('prom-client');
  const registry = new client.Registry();
  const gauges = new Map();
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    let g = gauges.get(m[1]);
    if (!g) gauges.set(m[1], (g = new client.Gauge({ name: m[1], help: m[1], labelNames: Object.keys(labels), registers: [registry] })));
    try {
      g.set(labels, Number(m[3]));
    } catch {
      // a family whose series carry different label sets: prom-client cannot hold it; skipped
    }
  }
  const http = createServer(async (_req, res) => res.end(await registry.metrics()));
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const times = [];
  for (let i = 0; i < 5; i++) times.push(await curl(`http://127.0.0.1:${http.address().port}/metrics`));
  await new Promise((r) => http.close(r));
  return median(times);
}

export async function run() {
  requireBuild();
  const server = await startServer();
  const fleet = await startFleet({ count: NODES, server: server.url, token: server.token, intervalS: INTERVAL_S });
  try {
    console.log(`   ${NODES} simulated nodes, ${INTERVAL_S} s interval, measured for ${SECONDS} s`);
    await fleet.started;
    await waitUntil(`${NODES} nodes up`, async () => (await upCount(server.url)) === NODES, 120_000);
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_S * 1000)); // warm-up: two rounds each

    const acks = [];
    const onAck = (_seq, ms) => acks.push(ms);
    for (const a of fleet.agents) a.link.on('acked', onAck);
    const stored0 = await (await fetch(`${server.url}/metrics/server`)).text();
    const cpu0 = cpuSeconds(server.pid);
    const selfCpu0 = process.cpuUsage();
    const t0 = Date.now();
    const rss = [];
    while (Date.now() - t0 < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 5000));
      rss.push(rssMiB(server.pid));
    }
    const wall = (Date.now() - t0) / 1000;
    const cpu = (cpuSeconds(server.pid) - cpu0) / wall;
    const self = process.cpuUsage(selfCpu0);
    for (const a of fleet.agents) a.link.off('acked', onAck);
    const stored1 = await (await fetch(`${server.url}/metrics/server`)).text();
    const stored = (q) => histogramQuantile(stored0, stored1, 'zonescope_agent_samples_store_seconds', q);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const whole = [];
    const one = [];
    for (let i = 0; i < 5; i++) whole.push(await curl(`${server.url}/metrics`));
    for (let i = 0; i < 5; i++) one.push(await curl(`${server.url}/metrics?node=${fleet.agents[0].node}`));
    const plateau = median(rss.slice(Math.floor(rss.length / 2)));
    const up = await upCount(server.url);
    const gaps = [...text.matchAll(/^zonescope_agent_sample_gaps_total\{node="[^"]+"\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
    await fleet.stop();
    // the baseline after the fleet stopped: this process is idle then, which favours it
    const base = await promClientBaseline(text);

    console.log(`   server CPU ${(cpu * 100).toFixed(1)}% of one core (goal ≤ 15%); simulated fleet ${((self.user + self.system) / 1e4 / wall).toFixed(1)}% (this process)`);
    console.log(`   server RSS at plateau ${plateau.toFixed(0)} MiB, max ${Math.max(...rss).toFixed(0)} MiB (goal ≤ 512 MiB)`);
    console.log(`   frame → stored: in the server (read off the socket → ack sent) p50 ${stored(0.5)}, p99 ${stored(0.99)} (goal p99 ≤ 50 ms); seen by the agents (sent → ack received, with this busy process's own delays) p50 ${quantile(acks, 0.5).toFixed(1)} ms, p99 ${quantile(acks, 0.99).toFixed(1)} ms over ${acks.length} frames`);
    console.log(`   scrape: whole fleet ${median(whole).toFixed(0)} ms (${series} series, ${(Buffer.byteLength(text) / 1048576).toFixed(1)} MiB; goal ≤ 1 s), one node ${median(one).toFixed(1)} ms; plain prom-client gauges of the same series behind node:http ${base.toFixed(0)} ms (${(base / median(whole)).toFixed(1)}× the whole-fleet scrape)`);
    console.log(`   nodes up at the end ${up}/${NODES}, sample gaps ${gaps}`);
    // the store: zone history (a blob per node per minute) and everything else in the data directory
    const db = ['zonescope.db', 'zonescope.db-wal'].reduce((n, f) => n + (existsSync(join(server.data, f)) ? statSync(join(server.data, f)).size : 0), 0);
    console.log(`   store on disk ${(db / 1048576).toFixed(0)} MiB (zonescope.db and its WAL: the zone history held in memory, written once a minute per node)`);
  } finally {
    await fleet.stop();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
