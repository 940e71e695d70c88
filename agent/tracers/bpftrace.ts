// bpftrace: JSON output, map sizes and string lengths bounded through its environment, the
// zone given as the numeric id of its cgroup v2 directory ($1; 0 = the whole host). Records
// between two interval markers are one interval.
//
// User stacks come as raw addresses (BPFTRACE_NO_USER_SYMBOLS=1) keyed by pid and comm, and
// are named here by the agent's symbolizer (symbols/symbolizer.ts), which reads each binary
// once per agent life: bpftrace 0.17 re-reads every module on each print of a stack map, and
// a print meeting node or chromium took seconds while samples piled up to be cleared.
// Kernel stacks stay with bpftrace: it reads /proc/kallsyms once per run, and its whole print
// of a busy zone's stack map, kernel names included, took 1-2 ms in the benchmark
// (test/bench/symbolize.bench.mjs, the agent's path).
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import type { TraceRecord } from '../../protocol/records.js';
import { syscallName } from './syscalls.js';
import { parseBpftraceLine } from '../parse/bpftrace.js';
import { classifyBpftraceDiagnostic } from '../parse/bpftrace-diagnostics.js';
import { DiagnosticReader } from '../parse/diagnostic-lines.js';
import { detectLayout } from '../platform/cgroup.js';
import type { Interval, TracerDriver } from './driver.js';
import { Symbolizer } from './symbols/symbolizer.js';
import { checkSeen } from './seen-counter.js';
import { stackFieldHints } from '../parse/bpftrace-keys.js';
import { positional, tracerFlags } from '../../scripts/params.js';
import { MAX_ZONE_CGROUPS, descendantIds, scopeToCgroups, writeScoped } from './cgroup-scope.js';

export const BPFTRACE_ENV: Record<string, string> = {
  BPFTRACE_MAP_KEYS_MAX: '10240',
  BPFTRACE_STRLEN: '64',
  BPFTRACE_MAX_PROBES: '64',
  BPFTRACE_PERF_RB_PAGES: '64',
  BPFTRACE_LOG_SIZE: '1000000',
  BPFTRACE_STACK_MODE: 'bpftrace',
  // user frames are named by the agent (see above)
  BPFTRACE_NO_USER_SYMBOLS: '1',
};

/** the tracer's scheduling priority (nice) when the agent may raise it */
export const TRACER_NICE = -10;

let shared: Symbolizer | undefined;
/** One symbolizer for the agent's life, so a binary's symbols are read once. */
export function symbolizer(): Symbolizer {
  return (shared ??= new Symbolizer());
}

/**
 * An interval as the server gets it: the two maps a script alternates (NAME_even, NAME_odd)
 * are one NAME; the script's own counters are checked against what arrived; user frames of
 * stack records keyed [pid, comm] are named.
 */
export async function finishInterval(iv: Interval, unit: string, sym: Pick<Symbolizer, 'frames'> = symbolizer()): Promise<Interval> {
  for (const r of iv.records) if (r.kind !== 'printf') r.agg = r.agg.replace(/_(even|odd)$/, '');
  const { records, events, counted } = checkSeen(iv.records, unit);
  for (const r of records) {
    if (r.kind !== 'stack' || typeof r.keys[0] !== 'number' || r.stack.length === r.kernel) continue;
    const user = await sym.frames(r.keys[0], r.stack.slice(r.kernel));
    r.stack = [...r.stack.slice(0, r.kernel), ...user];
  }
  return { records, events: [...iv.events, ...events], ...(counted !== undefined ? { counted } : {}) };
}

/** A zone's cgroup v2 directory and id, the inode number of that directory (0 and no directory:
 * the global zone, the whole host). */
async function zoneCgroup(zone: Zone, cgroupRoot = process.env.ZONESCOPE_CGROUP_ROOT ?? '/sys/fs/cgroup'): Promise<{ id: number; dir?: string }> {
  if (zone.name === 'global') return { id: 0 };
  if (!zone.cgroup) throw new Error(`zone '${zone.name}' has no cgroup: it cannot be traced`);
  const layout = await detectLayout(cgroupRoot);
  if (!layout.unified) throw new Error(`zone '${zone.name}': this host has no cgroup v2 hierarchy, which bpftrace needs to scope a trace to a container`);
  const dir = join(layout.unified.dir, zone.cgroup);
  let ino: bigint;
  try {
    ino = (await stat(dir, { bigint: true })).ino;
  } catch (e) {
    throw new Error(`zone '${zone.name}': no cgroup v2 directory ${dir} (${(e as Error).message})`);
  }
  if (ino > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${dir}: cgroup id ${ino} is too large to pass on`);
  return { id: Number(ino), dir };
}

/** Processes of a zone's cgroups (at most 256: enough to warm the symbol cache). */
async function zonePids(dirs: readonly string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const dir of dirs) {
    if (pids.length >= 256) break;
    const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const l of procs.split('\n')) if (/^\d+$/.test(l) && pids.length < 256) pids.push(Number(l));
  }
  return pids;
}

export const bpftraceDriver: TracerDriver = {
  name: 'bpftrace',
  async invocation(meta, file, zone, durationS, values) {
    const { id, dir } = await zoneCgroup(zone);
    // processes in cgroups below the zone's own are the zone's too (see cgroup-scope.ts)
    const below = dir ? await descendantIds(dir) : { ids: [], dirs: [], more: 0 };
    const scoped = below.ids.length ? writeScoped(file, scopeToCgroups(readFileSync(file, 'utf8'), below.ids)) : undefined;
    const warnings = below.more ? [`${below.more} cgroups below zone '${zone.name}' past the first ${MAX_ZONE_CGROUPS} are not traced`] : [];
    // the zone's binaries are read while bpftrace starts (about a second), not when the
    // first interval is waiting on them; the whole host is left to read as stacks come
    if (dir && meta.output === 'flame') void zonePids([dir, ...below.dirs]).then((pids) => symbolizer().prefetch(pids)).catch(() => undefined);
    const args = ['-f', 'json', ...tracerFlags(meta, 'bpftrace', values), scoped?.path ?? file, String(id), String(durationS), ...positional(meta, values)];
    const done = { warnings, ...(scoped ? { cleanup: scoped.remove } : {}) };
    // a loaded host must not starve the tracer: its start (LLVM compiles the script) took
    // seconds behind busy processes, and so did each print. Its own CPU use is small and
    // bounded (one compile, one print a second), so as root it runs ahead of the workload.
    if (process.getuid?.() === 0) return { cmd: 'nice', args: ['-n', String(TRACER_NICE), 'bpftrace', ...args], env: BPFTRACE_ENV, ...done };
    return { cmd: 'bpftrace', args, env: BPFTRACE_ENV, ...done };
  },
  finish: (iv, meta) => finishInterval(iv, meta.unit),
  stdout(meta, file) {
    const opts = { fields: stackFieldHints(readFileSync(file, 'utf8')) };
    // raw_syscalls give numbers: name them, so Linux and illumos series share label values
    const sys = (meta.keys ?? []).indexOf('syscall');
    const name = (r: TraceRecord) => {
      if (sys < 0 || r.kind === 'printf' || typeof r.keys[sys] !== 'number') return;
      const n = syscallName(r.keys[sys] as number);
      if (n) r.keys[sys] = n;
    };
    let cur: Interval = { records: [], events: [] };
    // bpftrace prints a whole map as one JSON line (megabytes for a stack map): its pieces
    // are kept apart until its newline comes, so each chunk is scanned once, not the line so far
    let partial: string[] = [];
    let seen = false;
    let ended = false;
    const line = (l: string, out: Interval[]) => {
      if (l.trim() === '') return;
      let r: ReturnType<typeof parseBpftraceLine>;
      try {
        r = parseBpftraceLine(l, opts);
      } catch (e) {
        // one bad line costs only itself: the lines around it are still this interval's
        cur.events.push({ kind: 'unparsed', count: 1, message: `unparsed tracer output: ${(e as Error).message}`.slice(0, 4096) });
        return;
      }
      if (r.intervalEnd) {
        out.push(cur);
        ended = true;
        cur = { records: [], events: [] };
        return;
      }
      if (r.interval) {
        // an interval whose end marker came was sent then; a script without end markers has
        // its interval sent when the next one starts
        if (!ended && (seen || cur.records.length)) out.push(cur);
        seen = true;
        ended = false;
        cur = { records: [], events: [] };
        return;
      }
      for (const rec of r.records) name(rec);
      cur.records.push(...r.records);
      cur.events.push(...r.events);
    };
    return {
      push(chunk) {
        const out: Interval[] = [];
        if (!chunk.includes('\n')) {
          partial.push(chunk);
          return out;
        }
        const text = partial.join('') + chunk;
        let start = partial.reduce((n, p) => n + p.length, 0);
        partial = [];
        const first = text.indexOf('\n', start);
        line(text.slice(0, first), out);
        start = first + 1;
        let nl: number;
        while ((nl = text.indexOf('\n', start)) >= 0) {
          line(text.slice(start, nl), out);
          start = nl + 1;
        }
        if (start < text.length) partial.push(text.slice(start));
        return out;
      },
      end() {
        const out: Interval[] = [];
        if (partial.length) line(partial.join(''), out);
        partial = [];
        // after an end marker, bpftrace's exit prints the scripts' cleared counters (zeros):
        // no interval, only what it said besides
        if (ended) {
          if (cur.events.length) out.push({ records: [], events: cur.events, trailing: true });
        } else if (seen || cur.records.length || cur.events.length) out.push(cur);
        return out;
      },
    };
  },
  stderr: () => new DiagnosticReader(classifyBpftraceDiagnostic),
};
