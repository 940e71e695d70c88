// /metrics benchmark: a fleet of 100 nodes × 20 zones with every family of
// protocol/families.ts populated with realistic label sets, built through the real Fleet API
// from synthetic hello/zones/samples frames. Times (median of several runs):
//   - renderFleet (the scrape's work, since each node is pre-rendered at ingestion),
//   - a real HTTP scrape of buildApp's /metrics over loopback, with curl (a client in its own
//     process, as Prometheus is) and with fetch from this process,
//   - the same series held in plain prom-client labelled Gauges in their own Registry:
//     registry.metrics(), and the same GETs of it behind a plain node:http server,
//   - ingestion: Fleet.addSamples per frame (where the per-node rendering happens).
// Imports the compiled build: run `npm run build` (or `npx tsc -p tsconfig.json`) first.
// Run: `node test/bench/metrics.bench.mjs` (or through `npm run bench`).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '../../dist');
const NODES = 100;
const ZONES = 20;
const RUNS = 7;
const TARGET_MS = 250;
const TARGET_RATIO = 3;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
// a scrape by a separate process (as Prometheus is), where curl is installed
const curl = (url) => new Promise((ok, fail) => {
  const t0 = now();
  execFile('curl', ['-sf', '-o', '/dev/null', url], (e) => (e ? fail(e) : ok(ms(t0))));
});
async function timedFetch(url, runs) {
  await (await fetch(url)).text();
  const times = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    const res = await fetch(url);
    const body = await res.text();
    times.push(ms(t0));
    if (!res.ok) throw new Error(`metrics bench: GET ${url} → HTTP ${res.status}`);
    bytes = Buffer.byteLength(body);
  }
  return { ms: median(times), bytes };
}
async function timedCurl(url, runs) {
  try {
    const times = [];
    for (let i = 0; i < runs; i++) times.push(await curl(url));
    return median(times);
  } catch {
    return undefined;
  }
}
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const now = () => process.hrtime.bigint();

async function load() {
  const need = ['server/fleet.js', 'server/exposition.js', 'server/app.js', 'protocol/families.js'];
  const missing = need.filter((f) => !existsSync(join(dist, f)));
  if (missing.length) throw new Error(`metrics bench: ${missing.map((f) => `dist/${f}`).join(', ')} missing; run \`npm run build\` first`);
  const imp = (f) => import(pathToFileURL(join(dist, f)).href);
  const [{ Fleet, DEFAULT_FLEET }, { renderFleet }, { buildApp }, { FAMILIES, PREFIX }] = await Promise.all(need.map(imp));
  const { Registry, Gauge } = await import('prom-client');
  return { Fleet, DEFAULT_FLEET, renderFleet, buildApp, FAMILIES, PREFIX, Registry, Gauge };
}

// a small deterministic generator, so two runs measure the same text
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const hex = (r, n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const uuid = (r) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;

function nodeFrames(i, FAMILIES) {
  const r = rng(i + 1);
  const node = `cn${String(i).padStart(3, '0')}.dc1.example.com`;
  const hello = {
    v: 1, type: 'hello', node, hostname: node, platform: i % 2 ? 'illumos' : 'linux', simulated: false,
    tracer: { name: i % 2 ? 'dtrace' : 'bpftrace', available: true }, capabilities: ['samples', 'trace'],
    agentVersion: '0.1.0', epoch: 1_700_000_000_000 + i, intervalS: 10, dropped: 0,
  };
  const zones = [{ name: 'global', brand: 'global', state: 'running' }];
  for (let z = 0; z < ZONES; z++) {
    zones.push({ name: uuid(r), alias: `${['web', 'db', 'cache', 'queue', 'batch'][z % 5]}-${i}-${z}`, brand: ['joyent', 'lx', 'bhyve', 'kvm'][z % 4], state: 'running', zoneid: z + 1 });
  }
  const points = [];
  const big = () => Math.floor(r() * 1e12);
  const secs = () => Math.round(r() * 1e7 * 1e3) / 1e3;
  const add = (f, l, v) => points.push({ f, l, v });

  // host
  for (let cpu = 0; cpu < 16; cpu++) for (const mode of ['user', 'system', 'idle', 'iowait']) add('node_cpu_seconds_total', { cpu: String(cpu), mode }, secs());
  add('node_memory_total_bytes', {}, 256 * 2 ** 30);
  add('node_memory_available_bytes', {}, big());
  add('node_memory_free_bytes', {}, big());
  for (const iface of ['ixgbe0', 'ixgbe1', 'aggr0']) {
    add('node_net_receive_bytes_total', { interface: iface }, big());
    add('node_net_transmit_bytes_total', { interface: iface }, big());
  }
  for (const disk of ['sd0', 'sd1', 'sd2', 'sd3']) {
    add('node_disk_read_bytes_total', { device: disk }, big());
    add('node_disk_written_bytes_total', { device: disk }, big());
  }
  add('node_load1', {}, Math.round(r() * 1600) / 100);

  for (const zone of zones.slice(1)) {
    const l = { zone: zone.name, alias: zone.alias };
    for (const mode of ['user', 'system']) add('zone_cpu_seconds_total', { ...l, mode }, secs());
    for (const [f, fam] of Object.entries(FAMILIES)) {
      if (!f.startsWith('zone_') || f === 'zone_cpu_seconds_total' || f === 'zone_vfs_ops_over_total' || f.startsWith('zone_net_')) continue;
      add(f, l, fam.type === 'counter' ? big() : f.endsWith('_ratio') ? Math.round(r() * 400) / 100 : big());
    }
    for (const over of ['0.01', '0.1', '1', '10']) add('zone_vfs_ops_over_total', { ...l, over }, big());
    for (const iface of ['net0', 'net1']) {
      for (const f of Object.keys(FAMILIES).filter((f) => f.startsWith('zone_net_'))) add(f, { ...l, interface: iface }, big());
    }
    for (const ds of [`zones/${zone.name}`, `zones/${zone.name}/data`]) {
      const dl = { ...l, dataset: ds };
      for (const f of Object.keys(FAMILIES).filter((f) => f.startsWith('zfs_dataset_'))) add(f, dl, f.endsWith('ratio') ? 1 + Math.round(r() * 300) / 100 : big());
    }
  }
  for (const pool of ['zones', 'backup']) {
    for (const f of ['zpool_size_bytes', 'zpool_allocated_bytes', 'zpool_free_bytes']) add(f, { pool }, big());
    add('zpool_fragmentation_ratio', { pool }, Math.round(r() * 100) / 100);
    add('zpool_health', { pool, state: 'ONLINE' }, 1);
  }
  for (const f of ['zfs_arc_size_bytes', 'zfs_arc_target_bytes', 'zfs_arc_max_bytes', 'zfs_arc_hits_total', 'zfs_arc_misses_total']) add(f, {}, big());
  for (const sampler of ['zones', 'memory_cap', 'caps', 'zone_vfs', 'zone_zfs', 'link', 'tcp', 'zfs', 'zpool', 'arcstats', 'cpu']) {
    add('agent_sampler_errors_total', { sampler }, Math.floor(r() * 3));
    add('agent_sampler_duration_seconds', { sampler }, Math.round(r() * 1e4) / 1e6);
    add('agent_values_unparsed_total', { sampler }, 0);
  }
  const missingFamilies = Object.keys(FAMILIES).filter((f) => !points.some((p) => p.f === f));
  if (missingFamilies.length) throw new Error(`metrics bench: the synthetic frame leaves out ${missingFamilies.join(', ')}`);
  return { node, hello, zones, points };
}

function fillFleet(fleet, frames, seq = 1, time = Date.now()) {
  for (const f of frames) {
    fleet.connect(f.hello, { epoch: f.hello.epoch, last: 0, received: 0, gaps: 0 });
    fleet.setZones(f.node, f.zones);
    fleet.addSamples(f.node, { v: 1, type: 'samples', seq, time, points: f.points, errors: [] });
  }
}

/** The same data as plain prom-client labelled gauges: one Gauge per family, node added. */
function fillRegistry({ Registry, Gauge, FAMILIES, PREFIX }, frames) {
  const registry = new Registry();
  const labelNames = new Map();
  for (const f of frames) for (const p of f.points) {
    let s = labelNames.get(p.f);
    if (!s) labelNames.set(p.f, (s = new Set(['node'])));
    for (const k in p.l) s.add(k);
  }
  const gauges = new Map();
  for (const [name, fam] of Object.entries(FAMILIES)) {
    gauges.set(name, new Gauge({ name: `${PREFIX}${name}`, help: fam.help, labelNames: [...(labelNames.get(name) ?? ['node'])], registers: [registry] }));
  }
  for (const f of frames) for (const p of f.points) gauges.get(p.f).set({ node: f.node, ...p.l }, p.v);
  return registry;
}

export async function run({ print = true } = {}) {
  const lib = await load();
  const { Fleet, DEFAULT_FLEET, renderFleet, buildApp, FAMILIES } = lib;
  const frames = Array.from({ length: NODES }, (_, i) => nodeFrames(i, FAMILIES));
  const pointsPerNode = frames[0].points.length;

  // ingestion: a fleet at steady state taking the next frame of every node
  const fleet = new Fleet(DEFAULT_FLEET);
  fillFleet(fleet, frames);
  const ingest = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = now();
    for (const f of frames) fleet.addSamples(f.node, { v: 1, type: 'samples', seq: run + 2, time: Date.now(), points: f.points, errors: [] });
    ingest.push(ms(t0) / NODES);
  }
  if ([...fleet.seriesDropped.values()].some((n) => n > 0)) throw new Error('metrics bench: the fleet dropped series over its cap; the figures would be wrong');

  renderFleet(fleet); // warm-up
  const render = [];
  let text = '';
  for (let i = 0; i < RUNS; i++) {
    const t0 = now();
    text = renderFleet(fleet);
    render.push(ms(t0));
  }
  const series = text.split('\n').filter((l) => l && l[0] !== '#').length;

  // the same scrape over HTTP, through the real server
  const dataDir = await mkdtemp(join(tmpdir(), 'zs-bench-metrics-'));
  const app = await buildApp({ dataDir });
  let scrape, scrapeCurlMs;
  try {
    fillFleet(app.ctx.fleet, frames);
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${app.app.server.address().port}/metrics`;
    scrape = await timedFetch(url, RUNS);
    scrapeCurlMs = await timedCurl(url, RUNS);
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  // plain prom-client with the same series
  const tb = now();
  const registry = fillRegistry(lib, frames);
  const promFillMs = ms(tb);
  await registry.metrics(); // warm-up
  const prom = [];
  let promText = '';
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const t0 = now();
    promText = await registry.metrics();
    prom.push(ms(t0));
  }
  const promSeries = promText.split('\n').filter((l) => l && l[0] !== '#').length;
  // and served the way a plain prom-client exporter serves it
  const plain = createServer(async (_req, res) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  });
  await new Promise((ok) => plain.listen(0, '127.0.0.1', ok));
  let promScrape, promScrapeCurlMs;
  try {
    const url = `http://127.0.0.1:${plain.address().port}/metrics`;
    promScrape = await timedFetch(url, Math.min(RUNS, 5));
    promScrapeCurlMs = await timedCurl(url, Math.min(RUNS, 5));
  } finally {
    await new Promise((ok) => plain.close(ok));
  }

  const r = {
    nodes: NODES,
    zones: ZONES,
    pointsPerNode,
    series,
    renderMs: median(render),
    scrapeMs: scrape.ms,
    scrapeCurlMs,
    scrapeBytes: scrape.bytes,
    renderBytes: Buffer.byteLength(text),
    ingestPerFrameMs: median(ingest),
    promClientMs: median(prom),
    promClientScrapeMs: promScrape.ms,
    promClientScrapeCurlMs: promScrapeCurlMs,
    promClientSeries: promSeries,
    promClientBytes: Buffer.byteLength(promText),
    promClientFillMs: promFillMs,
  };
  r.ratio = r.promClientMs / r.renderMs;
  r.fetchRatio = r.promClientScrapeMs / r.scrapeMs;
  // the scrape as Prometheus does it, from another process (fetch in this process when no curl)
  r.scrapeRatio = r.scrapeCurlMs !== undefined && r.promClientScrapeCurlMs !== undefined ? r.promClientScrapeCurlMs / r.scrapeCurlMs : r.fetchRatio;

  if (print) {
    const f = (v) => v.toFixed(1).padStart(8) + ' ms';
    const mb = (b) => (b / 2 ** 20).toFixed(1) + ' MiB';
    const n = (v) => v.toLocaleString('en-US');
    const ok = (good, t) => (good ? `ok (target ${t})` : `MISSES TARGET (${t})`);
    console.log(`/metrics, synthetic fleet: ${r.nodes} nodes × ${r.zones} zones, every family; ` +
      `${n(r.pointsPerNode)} points per node, ${n(r.series)} series; median of ${RUNS}`);
    console.log(`  renderFleet                ${f(r.renderMs)}   ${mb(r.renderBytes)}  ${ok(r.renderMs <= TARGET_MS, `≤ ${TARGET_MS} ms`)}`);
    const viaCurl = r.scrapeCurlMs !== undefined;
    const scrape = viaCurl ? r.scrapeCurlMs : r.scrapeMs;
    console.log(`  GET /metrics               ${f(scrape)}   ${mb(r.scrapeBytes)}  ${ok(scrape <= TARGET_MS, `≤ ${TARGET_MS} ms`)}  (${viaCurl ? 'curl: client in its own process, as Prometheus' : 'fetch'})`);
    if (viaCurl) console.log(`  GET /metrics, fetch        ${f(r.scrapeMs)}              (client in this same process: its reading counts too)`);
    console.log(`  prom-client registry       ${f(r.promClientMs)}   ${mb(r.promClientBytes)}  registry.metrics(), ${n(r.promClientSeries)} series in labelled Gauges (filling them took ${r.promClientFillMs.toFixed(0)} ms)`);
    if (viaCurl) console.log(`  prom-client GET            ${f(r.promClientScrapeCurlMs)}              the same registry behind a plain node:http server, curl`);
    console.log(`  prom-client GET, fetch     ${f(r.promClientScrapeMs)}`);
    console.log(`  ratio registry/render      ${r.ratio.toFixed(1).padStart(8)} ×     ${ok(r.ratio >= TARGET_RATIO, `≥ ${TARGET_RATIO}×`)}`);
    console.log(`  ratio GET/GET              ${r.scrapeRatio.toFixed(1).padStart(8)} ×     ${ok(r.scrapeRatio >= TARGET_RATIO, `≥ ${TARGET_RATIO}×`)}  (${viaCurl ? 'curl' : 'fetch'}; with fetch: ${r.fetchRatio.toFixed(1)} ×)`);
    console.log(`  ingestion: addSamples      ${f(r.ingestPerFrameMs)}   per frame of ${n(r.pointsPerNode)} points (renders that node), ` +
      `${(r.ingestPerFrameMs * NODES).toFixed(0)} ms for the whole fleet's frames`);
  }
  return r;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
