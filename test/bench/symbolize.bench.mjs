// User-stack symbolization benchmark: the per-interval print → frame path of a cpu-profile of
// a zone (a cgroup made here) holding two large binaries — a busy node (98 MB, JIT frames in
// its perf map) and a busy headless chromium (~300 MB) — with bpftrace naming user frames
// itself (what zonescope did before: BPFTRACE_NO_USER_SYMBOLS=0) against bpftrace printing
// addresses and the agent naming them from its cache (agent/tracers/symbols/). Both in one
// run, on the same processes. Per interval: from the interval's marker reaching us to the
// interval being ready to send (bpftrace's print, plus the agent's decoding and naming), and
// the agent's own CPU time for it. Needs root, bpftrace, chromium, cgroup v2 and the build
// (`npx tsc -p tsconfig.json`). Run: `node test/bench/symbolize.bench.mjs`.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../..');
const dist = (p) => pathToFileURL(join(ROOT, 'dist', p)).href;
const SECONDS = 6;
/** bpftrace naming frames itself can take minutes per print on chromium: it is cut off here */
const WALL_MS = 60_000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts `cmd` inside the cgroup (the shell joins it, then execs): its children start there too. */
function inCgroup(dir, cmd, args) {
  const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  // cwd tmpdir: node's --perf-basic-prof also writes a V8 log (isolate-*.log) where it runs
  return spawn('sh', ['-c', `echo $$ > ${q(join(dir, 'cgroup.procs'))} && exec ${[cmd, ...args].map(q).join(' ')}`], { cwd: tmpdir(), stdio: 'ignore', detached: true });
}

/** One bpftrace run: per interval, when its marker and its last line arrived, and its text. */
async function profile(cgid, env) {
  const bt = spawn('nice', ['-n', '-10', 'bpftrace', '-f', 'json', join(ROOT, 'scripts/cpu-profile.bt'), String(cgid), String(SECONDS), '99'], {
    env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '10240', BPFTRACE_STRLEN: '64', BPFTRACE_STACK_MODE: 'bpftrace', ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const limit = setTimeout(() => bt.kill('SIGKILL'), WALL_MS);
  const intervals = [];
  let cur = null;
  for await (const line of createInterface({ input: bt.stdout })) {
    const now = performance.now();
    if (line.includes('=== zonescope interval') && !line.includes(' end ===')) {
      cur = { marker: now, end: now, text: `${line}\n`, complete: false };
      intervals.push(cur);
    } else if (cur) {
      cur.text += `${line}\n`;
      cur.end = now;
      // the counter is the interval's last print
      if (line.includes('@zs_seen_samples')) cur.complete = true;
    }
  }
  clearTimeout(limit);
  return intervals.filter((iv) => iv.complete);
}

export async function run() {
  if (process.getuid?.() !== 0) throw new Error('needs root (bpftrace)');
  const chromium = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(existsSync);
  if (!chromium) throw new Error('needs chromium (the second large binary)');
  const { bpftraceDriver, finishInterval } = await import(dist('agent/tracers/bpftrace.js'));
  const { timeSlices } = await import(dist('agent/tracers/time-slices.js'));
  const { Symbolizer } = await import(dist('agent/tracers/symbols/symbolizer.js'));
  const { findScript, scriptFile, scriptsDir } = await import(dist('scripts/catalog.js'));

  const { detectLayout } = await import(dist('agent/platform/cgroup.js'));
  const unified = (await detectLayout('/sys/fs/cgroup')).unified;
  if (!unified) throw new Error('needs a cgroup v2 hierarchy (bpftrace scopes a zone by its cgroup id)');
  const dir = join(unified.dir, `zonescope-bench-${process.pid}`);
  mkdirSync(dir);
  const cgid = statSync(dir).ino;
  const js = join(tmpdir(), `zs-bench-busy-${process.pid}.js`);
  writeFileSync(js, 'function zsBusy(n){let x=0;for(let i=0;i<n;i++)x+=Math.sqrt(i)*(i&7);return x}let s=0;for(;;)s+=zsBusy(1e6);');
  const kids = [
    inCgroup(dir, process.execPath, ['--perf-basic-prof', js]),
    inCgroup(dir, chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${join(tmpdir(), `zs-bench-chromium-${process.pid}`)}`, 'data:text/html,<script>let s=0;for(;;)s+=Math.sqrt(s)</script>']),
  ];
  try {
    await sleep(3000); // both busy, node's loop in its perf map
    const load = loadavg()[0].toFixed(1);

    // before: bpftrace names user frames on every print
    const before = await profile(cgid, { BPFTRACE_NO_USER_SYMBOLS: '0' });
    const beforeMs = before.map((iv) => iv.end - iv.marker);

    // now: bpftrace prints addresses, the agent names them (its cache starts cold here)
    const meta = findScript('cpu-profile');
    const file = scriptFile(meta, 'bpftrace', scriptsDir());
    const sym = new Symbolizer();
    const after = await profile(cgid, { BPFTRACE_NO_USER_SYMBOLS: '1' });
    const afterMs = [];
    const cpuMs = [];
    let frames = 0;
    let named = 0;
    // what the time slices cost: rows bpftrace printed (stack × process × 20 ms slice), records
    // sent (one per stack and process), and the frame's bytes with and without the slices
    let rows = 0;
    let records = 0;
    let bytes = 0;
    let bytesUnsliced = 0;
    for (const iv of after) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const d = bpftraceDriver.stdout(meta, file);
      const out = [...d.push(iv.text), ...d.end()];
      for (const one of out) {
        rows += one.records.filter((r) => r.kind === 'stack').length;
        // as the runner does: one record per stack first, then the names
        const done = await finishInterval({ ...one, records: timeSlices(one.records, 0) }, 'samples', sym);
        records += done.records.filter((r) => r.kind === 'stack').length;
        bytes += JSON.stringify(done.records).length;
        bytesUnsliced += JSON.stringify(done.records.map(({ slices, ...r }) => r)).length;
        for (const r of done.records) {
          if (r.kind !== 'stack') continue;
          const user = r.stack.slice(r.kernel);
          frames += user.length;
          named += user.filter((f) => !/^0x[0-9a-f]+$/.test(f)).length;
        }
      }
      const c = process.cpuUsage(c0);
      cpuMs.push((c.user + c.system) / 1000);
      afterMs.push(iv.end - iv.marker + (performance.now() - t0));
    }
    sym.close();
    // an interval bpftrace never finished printing within the limit took at least the limit
    const missing = SECONDS - before.length;
    const b = median([...beforeMs, ...Array(missing).fill(WALL_MS)]);
    const a = median(afterMs);
    console.log(`   zone: node (--perf-basic-prof) + chromium, busy; ${SECONDS} intervals each; load ${load} on ${readFileSync('/proc/cpuinfo', 'utf8').split('\nprocessor').length} CPUs`);
    const lb = missing ? '≥ ' : '';
    console.log(`   bpftrace naming user frames: print → frame per interval ${beforeMs.length ? `${beforeMs.map((x) => x.toFixed(0)).join(', ')} ms` : 'none'}${missing ? `, ${missing} not printed within ${WALL_MS / 1000} s` : ''}; median ${lb}${b.toFixed(0)} ms`);
    console.log(`   agent naming them (cache cold at the first): ${afterMs.map((x) => x.toFixed(0)).join(', ')} ms; median ${a.toFixed(0)} ms; ${after.length} of ${SECONDS} intervals`);
    console.log(`   ratio: the agent's path is ${lb}${(b / a).toFixed(0)}x faster per interval (median); first interval ${beforeMs[0]?.toFixed(0) ?? `≥ ${WALL_MS}`} ms vs ${afterMs[0]?.toFixed(0)} ms`);
    console.log(`   agent CPU per interval: median ${median(cpuMs.slice(1)).toFixed(1)} ms (first, reading the symbol tables: ${cpuMs[0]?.toFixed(0)} ms); ${sym.stats.modulesRead} modules read; ${named} of ${frames} user frames named`);
    console.log(`   time slices: ${(rows / after.length).toFixed(0)} rows printed an interval (stack, process, 20 ms slice) → ${(records / after.length).toFixed(0)} records sent; frame ${(bytes / after.length / 1024).toFixed(1)} KiB an interval, ${(bytes / bytesUnsliced).toFixed(2)}x the same records without slices`);
    return { beforeMs, afterMs, cpuMs, ratio: b / a, missing };
  } finally {
    for (const k of kids) {
      try {
        process.kill(-k.pid, 'SIGKILL'); // the process group each started (chromium forks)
      } catch {
        // gone
      }
    }
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        break;
      } catch {
        await sleep(100);
      }
    }
    try {
      execFileSync('rm', ['-rf', js, join(tmpdir(), `zs-bench-chromium-${process.pid}`), `/tmp/perf-${kids[0].pid}.map`]);
    } catch {
      // best effort
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
