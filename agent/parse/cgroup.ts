// Pure parsers of cgroup v1 and v2 interface files. Bad values come out as NaN (counted as
// unparsed by the sampler, never exported as 0); "max" and the v1 "unlimited" sentinel come
// out as Infinity so a limit series can be left out rather than faked.
import { num } from './proc.js';

/**
 * v1 writes "unlimited" as the largest page-aligned signed 64-bit value (9223372036854771712
 * on 4 KiB pages, a little less on larger pages): anything this big is no limit.
 */
export const V1_UNLIMITED = 2 ** 62;

/** A single-value file (memory.current, pids.current, cpuacct.usage, memory.max...). */
export function parseSingle(text: string): number {
  const t = text.trim();
  if (t === 'max') return Infinity;
  return num(t);
}

/** A limit: Infinity when v2 says "max" or v1 holds its unlimited sentinel. */
export function parseLimit(text: string): number {
  const v = parseSingle(text);
  return v >= V1_UNLIMITED ? Infinity : v;
}

/** Flat keyed files: `key value` per line (cpu.stat, memory.stat, memory.events, cpuacct.stat, memory.oom_control). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/);
    if (c.length === 0 || c[0] === '') continue;
    out.set(c[0], c.length === 2 ? num(c[1]) : NaN);
  }
  return out;
}

/**
 * v2 io.stat: `MAJ:MIN key=value ...` per device; returns each key summed over devices.
 * A value that does not parse makes that key NaN (the sum would be wrong otherwise).
 */
export function parseIoStat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/);
    if (!/^\d+:\d+$/.test(c[0] ?? '')) continue;
    for (const kv of c.slice(1)) {
      const i = kv.indexOf('=');
      if (i <= 0) continue;
      const k = kv.slice(0, i);
      out.set(k, (out.get(k) ?? 0) + num(kv.slice(i + 1)));
    }
  }
  return out;
}

/**
 * v1 blkio.throttle.io_service_bytes / io_serviced: `MAJ:MIN Op value` per device and op,
 * plus a final `Total N`; returns each op (Read, Write, Sync, Async, Discard, Total) summed
 * over devices, leaving out the grand total line.
 */
export function parseBlkio(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/);
    if (c.length !== 3 || !/^\d+:\d+$/.test(c[0])) continue;
    out.set(c[1], (out.get(c[1]) ?? 0) + num(c[2]));
  }
  return out;
}

/** /proc/PID/cgroup: hierarchy id, controllers (v1) or "" (v2), path. */
export interface ProcCgroup {
  id: number;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroup[] {
  const out: ProcCgroup[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) throw new Error(`/proc/PID/cgroup: bad line "${line}"`);
    out.push({
      id: Number(line.slice(0, a)),
      controllers: line.slice(a + 1, b) ? line.slice(a + 1, b).split(',') : [],
      path: line.slice(b + 1),
    });
  }
  return out;
}
