// Stored zone history: what writing each node's history to SQLite (server/history-store.ts)
// adds to the server's ingestion, in one run against its own baseline. 1,000 nodes × 280 zone
// points (10 zones × 28 series) every 10 s, driven through the real Fleet API in simulated
// time (no waiting): the CPU of taking an hour of frames without a store (the baseline), then
// the same frames with the store writing each node's minute as it falls due. Also: bytes on
// disk per node-hour, and reading 1,000 nodes' history back (a restart).
// Imports the compiled build: `npm run build` (or `npx tsc -p tsconfig.json`) first.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '../../dist');
const NODES = Number(process.env.ZONESCOPE_HSTORE_NODES ?? 1000);
const ZONES = 10;
const SERIES = 28;
const INTERVAL_MS = 10_000;
const MINUTES = Number(process.env.ZONESCOPE_HSTORE_MINUTES ?? 10);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function frameFor(node, seq, time) {
  const points = [];
  for (let z = 0; z < ZONES; z++) {
    const zone = `${node}-zone-${String(z).padStart(2, '0')}-0000-0000-000000000000`;
    for (let s = 0; s < SERIES; s++) points.push({ f: `zone_bench_${s}_total`, l: { zone, alias: `web${z}`, ...(s % 4 === 0 ? { mode: 'user' } : {}) }, v: seq * (s + 1) + z });
  }
  return { v: 1, type: 'samples', seq, time, points, errors: [] };
}

export async function run() {
  if (!existsSync(join(dist, 'server/history-store.js'))) throw new Error('run `npm run build` first (dist/server/history-store.js is missing)');
  const { Fleet, DEFAULT_FLEET } = await import(pathToFileURL(join(dist, 'server/fleet.js')).href);
  const { HistoryStore } = await import(pathToFileURL(join(dist, 'server/history-store.js')).href);
  const { Store } = await import(pathToFileURL(join(dist, 'server/store.js')).href);
  const { StoreFaults } = await import(pathToFileURL(join(dist, 'server/store-faults.js')).href);
  const hello = (node) => ({ v: 1, type: 'hello', node, hostname: node, platform: 'illumos', simulated: true, tracer: { name: 'dtrace', available: false }, capabilities: ['samples'], agentVersion: 'bench', epoch: 1, intervalS: 10, dropped: 0 });
  const nodes = Array.from({ length: NODES }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  const t0 = Date.now() - MINUTES * 60_000;
  const rounds = (MINUTES * 60_000) / INTERVAL_MS;

  const ingest = (withStore) => {
    const dir = mkdtempSync(join(tmpdir(), 'zs-hstore-bench-'));
    const store = new Store(dir);
    const faults = new StoreFaults(store, { inc: () => undefined }, { warn: () => undefined, error: () => undefined });
    const hs = new HistoryStore(store, faults, 3600, { chunkMs: 60_000, tickMs: 3_600_000 });
    const fleet = new Fleet({ ...DEFAULT_FLEET }, withStore ? hs : undefined);
    if (withStore) hs.attach(fleet);
    for (const n of nodes) fleet.connect(hello(n), { epoch: 1, last: 0, received: 0, gaps: 0 }, t0);
    let cpu = 0;
    let storeCpu = 0;
    for (let r = 0; r < rounds; r++) {
      const now = t0 + r * INTERVAL_MS;
      // a round's frames are made off the clock: the agents' work is not the server's
      const frames = nodes.map((n, i) => frameFor(n, r + 1, now + (i * INTERVAL_MS) / NODES));
      const c0 = cpuMs();
      for (let i = 0; i < NODES; i++) fleet.addSamples(nodes[i], frames[i], now);
      const c1 = cpuMs();
      // the store's timer (every 2 s) in simulated time: five ticks a round
      if (withStore) for (let k = 0; k < 5; k++) hs.tick(now + k * 2000);
      const c2 = cpuMs();
      cpu += c2 - c0;
      storeCpu += c2 - c1;
    }
    const c1 = cpuMs();
    if (withStore) hs.tick(t0 + rounds * INTERVAL_MS, true);
    cpu += cpuMs() - c1;
    storeCpu += cpuMs() - c1;
    const points = fleet.historyPoints;
    const bytes = withStore ? hs.storedBytes() : 0;
    return { cpu, storeCpu, points, bytes, dir, store, faults };
  };

  // the baseline first and last, the store in between: a slower machine later in the run shows
  const base1 = ingest(false);
  const stored = ingest(true);
  const base2 = ingest(false);
  const base = (base1.cpu + base2.cpu) / 2;
  const pointsIn = NODES * rounds * ZONES * SERIES;
  console.log(`   ${NODES} nodes × ${ZONES * SERIES} zone points every ${INTERVAL_MS / 1000} s, ${MINUTES} min of frames (${(pointsIn / 1e6).toFixed(1)} M points), simulated time`);
  console.log(`   ingestion without the store ${base.toFixed(0)} ms CPU (${base1.cpu.toFixed(0)}, ${base2.cpu.toFixed(0)}); with it ${stored.cpu.toFixed(0)} ms: ${(stored.cpu / base).toFixed(2)}×`);
  console.log(`   the store's own writes ${stored.storeCpu.toFixed(0)} ms CPU: ${((stored.storeCpu / base) * 100).toFixed(1)}% of the ingestion's, ${((stored.storeCpu / (MINUTES * 60_000)) * 100).toFixed(2)}% of one core at this fleet`);
  const perNodeHour = stored.bytes / NODES / (MINUTES / 60);
  console.log(`   on disk ${(stored.bytes / 1048576).toFixed(1)} MiB of chunks for ${(stored.points / 1e6).toFixed(1)} M points held (${(stored.bytes / stored.points).toFixed(1)} bytes a point; ${(perNodeHour / 1048576).toFixed(2)} MiB per node-hour)`);

  // a restart: every node says hello again and its history is read back
  const hs2 = new HistoryStore(stored.store, stored.faults, 3600);
  const fleet2 = new Fleet({ ...DEFAULT_FLEET }, hs2);
  const c0 = cpuMs();
  const w0 = performance.now();
  for (const n of nodes) fleet2.connect(hello(n), { epoch: 1, last: 0, received: 0, gaps: 0 }, t0 + rounds * INTERVAL_MS);
  console.log(`   restart: ${NODES} nodes' history read back in ${(performance.now() - w0).toFixed(0)} ms (${(cpuMs() - c0).toFixed(0)} ms CPU), ${(fleet2.historyPoints / 1e6).toFixed(1)} M points (${fleet2.historyPoints === stored.points ? 'all of them' : `of ${(stored.points / 1e6).toFixed(1)} M`})`);
  for (const r of [base1, stored, base2]) {
    r.store.close();
    rmSync(r.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
