// Continuous profile storage and queries: a day of a busy zone at 19 Hz (2 CPUs busy: 2,280
// samples a minute) written minute by minute into the real ProfileStore in a fresh SQLite file,
// then 6-hour windows read back as folded text and as pprof. Stacks follow a Zipf law over a
// pool of 3,000 distinct stacks 15–45 frames deep (names from 2,000 functions), 1% of the pool
// replaced every minute (new code paths), so a minute holds several hundred distinct stacks.
// Baseline in the same run: each minute kept as its folded text (what storing a profile as is
// costs), and a 6-hour window merged back from those texts.
// Run: `npm run bench -- profile-store` (after `npm run build`).
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, requireBuild, ROOT } from './lib/fleet.mjs';

const MIN = 60_000;
const SAMPLES_PER_MIN = 19 * 60 * 2;
const POOL = 3000;
const CHURN = 0.01;
const RUNS = 7;

/** a seeded generator: the same day every run */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export async function run() {
  requireBuild();
  const { ProfileStore } = await import(pathToFileURL(join(ROOT, 'dist/server/profile-store.js')).href);
  const { formatFolded } = await import(pathToFileURL(join(ROOT, 'dist/protocol/folded.js')).href);
  const { pprofOfFolded } = await import(pathToFileURL(join(ROOT, 'dist/server/pprof.js')).href);
  const rand = rng(42);
  const fnNames = Array.from({ length: 2000 }, (_, i) => `${['node', 'v8', 'libc', 'app', 'uv'][i % 5]}::Module${i % 97}::function_${i}_${Math.floor(rand() * 1e6).toString(36)}`);
  const newStack = () => {
    const depth = 15 + Math.floor(rand() * 31);
    const prefix = ['node', 'start_thread', 'uv_run'];
    while (prefix.length < depth) prefix.push(fnNames[Math.floor(rand() ** 2 * fnNames.length)]);
    return prefix.join(';');
  };
  const pool = Array.from({ length: POOL }, newStack);
  // Zipf weights over pool positions
  const weights = pool.map((_, i) => 1 / (i + 1) ** 1.1);
  const cum = [];
  weights.reduce((a, w, i) => (cum[i] = a + w), 0);
  const total = cum[cum.length - 1];
  const pick = () => {
    const x = rand() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return pool[lo];
  };

  const dir = mkdtempSync(join(tmpdir(), 'zs-prof-bench-'));
  try {
    const file = join(dir, 'zonescope.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    const store = new ProfileStore(db, { retentionMs: 48 * 3600_000 });
    const t0 = Date.UTC(2026, 0, 1);
    let naiveBytes = 0;
    const naive = [];
    let distinct = 0;
    const w0 = process.hrtime.bigint();
    for (let m = 0; m < 1440; m++) {
      for (let c = 0; c < POOL * CHURN; c++) pool[Math.floor(rand() * POOL)] = newStack();
      const minute = new Map();
      for (let s = 0; s < SAMPLES_PER_MIN; s++) {
        const k = pick();
        minute.set(k, (minute.get(k) ?? 0) + 1);
      }
      distinct += minute.size;
      // as intervals arrive: one a second
      const perSec = [...minute].reduce((acc, [k, v], i) => (acc[i % 60].set(k, v), acc), Array.from({ length: 60 }, () => new Map()));
      for (let s = 0; s < 60; s++) store.add('cn1', 'busy', perSec[s], t0 + m * MIN + s * 1000);
      store.flush(t0 + m * MIN + MIN);
      const text = formatFolded(minute);
      naiveBytes += Buffer.byteLength(text);
      naive.push(text);
    }
    const writeMs = Number(process.hrtime.bigint() - w0) / 1e6;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const fileBytes = statSync(file).size;
    const mib = (b) => `${(b / 1024 / 1024).toFixed(2)} MiB`;
    console.log(`   a busy zone at 19 Hz for a day: 1,440 minutes, ${SAMPLES_PER_MIN.toLocaleString('en-US')} samples and ${Math.round(distinct / 1440)} distinct stacks a minute (median depth 30)`);
    console.log(`   stored: ${mib(store.bytes())} of counts and stacks (${mib(fileBytes)} SQLite file with its indexes); each minute's folded text: ${mib(naiveBytes)} (${(naiveBytes / store.bytes()).toFixed(1)}× more)`);
    console.log(`   writing the day: ${(writeMs / 1440).toFixed(2)} ms a minute`);

    // 6-hour windows ending at different hours of the day
    const end = t0 + 1440 * MIN;
    const times = [];
    const pprofTimes = [];
    let stacks = 0;
    for (let r = 0; r < RUNS; r++) {
      const to = end - r * 2 * 3600_000 - (r % 2) * MIN * 7;
      const from = to - 6 * 3600_000;
      const q0 = process.hrtime.bigint();
      const w = store.window('cn1', 'busy', from, to);
      const text = formatFolded(w);
      times.push(Number(process.hrtime.bigint() - q0) / 1e6);
      stacks = w.size;
      const p0 = process.hrtime.bigint();
      pprofOfFolded(w, { unit: 'samples', hz: 19 });
      pprofTimes.push(Number(process.hrtime.bigint() - p0) / 1e6 + times[times.length - 1]);
      if (!text) throw new Error('empty window');
    }
    // baseline: the same windows merged from each minute's folded text
    const base = [];
    for (let r = 0; r < RUNS; r++) {
      const last = 1440 - r * 120 - (r % 2) * 7;
      const q0 = process.hrtime.bigint();
      const m = new Map();
      for (const text of naive.slice(last - 360, last)) {
        for (const line of text.split('\n')) {
          if (!line) continue;
          const sp = line.lastIndexOf(' ');
          const k = line.slice(0, sp);
          m.set(k, (m.get(k) ?? 0) + Number(line.slice(sp + 1)));
        }
      }
      formatFolded(m);
      base.push(Number(process.hrtime.bigint() - q0) / 1e6);
    }
    console.log(`   6 h window (360 minutes, ${stacks.toLocaleString('en-US')} distinct stacks): folded in ${median(times).toFixed(0)} ms, as pprof ${median(pprofTimes).toFixed(0)} ms (median of ${RUNS}); merging the minutes' folded texts: ${median(base).toFixed(0)} ms (${(median(base) / median(times)).toFixed(1)}×)`);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
