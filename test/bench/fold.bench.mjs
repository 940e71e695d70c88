// `zonescope fold` benchmark: a ≥ 50 MB DTrace capture of `@[stack(), ustack()] = count()`
// (a few thousand distinct stacks, 10–40 frames, kernel + user, offsets) written to a temp
// dir, folded by the real command (`node dist/cli/main.js fold FILE`, a child process)
// several times: median throughput in MB/s and the child's peak RSS (VmHWM, read from
// /proc/self/status as it exits). Baseline on the same file: stackcollapse.pl's rules as a
// minimal perl loop when perl is here, and a naive fold (whole file read, split on lines).
// Needs the build: `npx tsc -p tsconfig.json`. Run: `node test/bench/fold.bench.mjs`.
import { spawn } from 'node:child_process';
import { existsSync, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '../../dist/cli/main.js');
const SIZE = 60 * 1024 * 1024;
const RUNS = 5;
const TARGET_MBS = 150;

/** Prints the child's VmHWM on stderr as it exits: its true peak, which polling could miss. */
export const PEAK_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { readFileSync, writeSync } from 'node:fs';" +
      "process.on('exit', () => { const m = /VmHWM:\\s*(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));" +
      " const u = process.cpuUsage(); writeSync(2, `zonescope-peak-rss ${m ? Number(m[1]) * 1024 : -1} cpu ${(u.user + u.system) / 1e6}\\n`); });",
  );

export function peakOf(stderr) {
  const m = /zonescope-peak-rss (-?\d+)/.exec(stderr);
  return m ? Number(m[1]) : NaN;
}

/** CPU seconds (user + system) the child used, from the same exit hook. */
function cpuOf(stderr) {
  const m = /zonescope-peak-rss -?\d+ cpu ([\d.]+)/.exec(stderr);
  return m ? Number(m[1]) : NaN;
}

/** A small deterministic PRNG, so every run (and the memory test's two runs) sees the same stacks. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KMODS = ['unix', 'genunix', 'zfs', 'ip', 'tcp', 'sockfs', 'mac', 'sd'];
const UMODS = ['libc.so.1', 'libnvpair.so.1', 'libstdc++.so.6.0.28', 'libuv.so.1', 'node', 'postgres', 'a.out'];
const WORDS = ['read', 'write', 'poll', 'mutex', 'cv_wait', 'dispatch', 'hash', 'alloc', 'free', 'copy', 'walk', 'lookup', 'flush', 'sync', 'queue', 'timer', 'page', 'fault', 'send', 'recv'];

/**
 * The text of `distinct` stack records the way printa prints an `@[stack(), ustack()]`
 * aggregation (a newline, kernel frames, a newline, user frames, then the count), without
 * the count: about 1 in 6 is user-only (the kernel part empty), 1 in 10 kernel-only.
 */
export function stackTexts(distinct = 3000, seed = 42) {
  const rnd = prng(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const fn = () => `${pick(WORDS)}_${pick(WORDS)}${Math.floor(rnd() * 50)}`;
  const frame = (mod) => `              ${mod}\`${fn()}+0x${Math.floor(rnd() * 0x3000).toString(16)}\n`;
  const out = [];
  for (let i = 0; i < distinct; i++) {
    const n = 10 + Math.floor(rnd() * 31);
    const kind = rnd();
    const k = kind < 1 / 6 ? 0 : kind < 1 / 6 + 1 / 10 ? n : Math.max(1, Math.floor(n * (0.2 + rnd() * 0.4)));
    let s = '\n';
    for (let j = 0; j < k; j++) s += frame(pick(KMODS));
    s += '\n';
    for (let j = k; j < n; j++) s += frame(pick(UMODS));
    out.push(s);
  }
  return out;
}

/**
 * A DTrace capture (`dtrace -o`: the CPU/ID header, the probe line, a blank line, then
 * records) of at least `bytes`, as ~1 MB chunks made on demand, so a caller can stream far
 * more than it holds. Record i uses stack i mod distinct with count 1 + i mod 97; `repeat`
 * sends the same records that many times over, so its folded counts are exactly `repeat`
 * times those of one.
 */
export function* dtraceCapture(bytes, { distinct = 3000, seed = 42, header = true, repeat = 1 } = {}) {
  const texts = stackTexts(distinct, seed);
  let chunk = header ? 'CPU     ID                    FUNCTION:NAME\n  0  78960                       :tick-1s \n\n' : '';
  for (let r = 0; r < repeat; r++) {
    let made = 0;
    for (let i = 0; made < bytes; i++) {
      const rec = `${texts[i % distinct]}${String(1 + (i % 97)).padStart(17)}\n`;
      chunk += rec;
      made += rec.length;
      if (chunk.length >= 1 << 20) {
        yield Buffer.from(chunk);
        chunk = '';
      }
    }
  }
  if (chunk) yield Buffer.from(chunk);
}

/** Runs a command to completion; returns its wall time, stdout and stderr. */
export function runChild(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZONESCOPE_TEST: resolve(here, '../..') }, ...opts });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`));
      else res({ s, out, err });
    });
  });
}

// stackcollapse.pl's DTrace rules, written out as the smallest perl loop that keeps them
// (skip 3 header lines, strip leading space, cut the offset, C++ args after '::', merge, sort)
const PERL = String.raw`
my %c; my @s; my $n = 0;
while (my $l = <>) {
  next if $n++ < 3;
  chomp $l; $l =~ s/^\s+//; $l =~ s/\s+$//;
  if ($l eq '') { next }
  if ($l =~ /^\d+$/) { $c{join(';', reverse @s)} += $l; @s = (); next }
  $l =~ s/\+[^+]*$//;
  if ($l =~ /::/) { $l =~ s/(::.*)[(<].*/$1/ }
  $l = '-' if $l eq '';
  push @s, $l;
}
print "$_ $c{$_}\n" for sort keys %c;
`;

/** The obvious way: read it all, split on lines, fold. */
async function naiveFold(file) {
  const t0 = process.hrtime.bigint();
  const lines = (await readFile(file, 'utf8')).split('\n').slice(3);
  const m = new Map();
  let st = [];
  for (let l of lines) {
    l = l.trim();
    if (l === '') continue;
    if (/^\d+$/.test(l)) {
      const k = st.reverse().join(';');
      m.set(k, (m.get(k) ?? 0) + Number(l));
      st = [];
      continue;
    }
    st.push(l.replace(/\+[^+]*$/, ''));
  }
  const out = [...m.keys()].sort().map((k) => `${k} ${m.get(k)}\n`).join('');
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, out };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b) => b / (1024 * 1024);

export async function run({ print = true } = {}) {
  if (!existsSync(MAIN)) throw new Error(`fold bench: ${MAIN} missing; run \`npx tsc -p tsconfig.json\` first`);
  const log = print ? (s) => console.log(s) : () => {};
  const dir = await mkdtemp(join(tmpdir(), 'zs-fold-bench-'));
  try {
    const file = join(dir, 'capture.txt');
    const ws = createWriteStream(file);
    for (const c of dtraceCapture(SIZE)) if (!ws.write(c)) await once(ws, 'drain');
    ws.end();
    await once(ws, 'finish');
    const size = (await stat(file)).size;
    log(`   input: ${mb(size).toFixed(1)} MB DTrace capture, 3000 distinct kernel+user stacks of 10–40 frames`);

    const times = [];
    const cpus = [];
    const peaks = [];
    let folded = '';
    for (let i = 0; i < RUNS; i++) {
      const r = await runChild(process.execPath, ['--import', PEAK_HOOK, MAIN, 'fold', file]);
      times.push(r.s);
      peaks.push(peakOf(r.err));
      cpus.push(cpuOf(r.err));
      folded = r.out;
    }
    const t = median(times);
    const rate = mb(size) / t;
    const lines = folded.split('\n').length - 1;
    log(`   zonescope fold: ${rate.toFixed(0)} MB/s (median of ${RUNS}: ${t.toFixed(2)} s, process start included), peak RSS ${mb(median(peaks)).toFixed(0)} MB, ${lines} folded lines`);
    // the machine is shared: CPU time shows what the fold costs when others are busy too
    log(`   per CPU second: ${(mb(size) / median(cpus)).toFixed(0)} MB/s (median ${median(cpus).toFixed(2)} s of CPU; load average now ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`);
    log(`   target ≥ ${TARGET_MBS} MB/s: ${rate >= TARGET_MBS ? 'met' : 'NOT met'}`);

    const results = { mbPerS: rate, cpuMbPerS: mb(size) / median(cpus), peakRss: median(peaks), lines };
    let perl = false;
    try {
      await runChild('perl', ['-e', '1']);
      perl = true;
    } catch {}
    if (perl) {
      const p = await runChild('perl', ['-e', PERL, file]);
      const prate = mb(size) / p.s;
      log(`   perl loop with stackcollapse.pl's rules: ${prate.toFixed(1)} MB/s → zonescope fold is ${(rate / prate).toFixed(1)}× faster${p.out === folded ? ', same output' : ', OUTPUT DIFFERS'}`);
      Object.assign(results, { perlMbPerS: prate, perlSame: p.out === folded });
    } else log('   perl not found: no stackcollapse.pl-style baseline');
    const n = await naiveFold(file);
    const nrate = mb(size) / n.s;
    log(`   naive fold (read whole file, split, regex per frame, in-process): ${nrate.toFixed(0)} MB/s → ${(rate / nrate).toFixed(1)}×${n.out === folded ? ', same output' : ', OUTPUT DIFFERS'}`);
    Object.assign(results, { naiveMbPerS: nrate, naiveSame: n.out === folded });
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
