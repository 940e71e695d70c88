// bpftrace `-f json` output (one JSON object per line; shapes checked against bpftrace 0.17)
// and its stderr text → TraceRecords and TraceEvents.
//
// Shapes met in practice:
//   {"type":"map","data":{"@x":{"key1,key2":3}}}          multi-keys joined by commas
//   {"type":"map","data":{"@":{"\n    f1+1\n    f2+2\n,,comm":9}}}   kstack/ustack keys are
//     one frame per line, leading "\n", trailing "\n"; an empty stack is ""
//   {"type":"hist","data":{"@h":[{"max":-1,"count":1},{"min":0,"max":0,"count":1},...,{"min":100,"count":1}]}}
//   {"type":"stats","data":{"@s":{"count":2,"average":15,"total":30}}}  (avg() alone: a number)
//   {"type":"printf","data":"text"}, {"type":"attached_probes","data":{"probes":2}},
//   {"type":"lost_events","data":{"events":416}}
// Errors and warnings are text on stderr even in JSON mode (see bpftrace-diagnostics.ts).
import type { Bucket, TraceEvent, TraceRecord } from '../../protocol/records.js';
import { classifyBpftraceDiagnostic } from './bpftrace-diagnostics.js';

type Key = string | number;
export type FieldKind = 'kstack' | 'ustack' | 'key';

export interface BpftraceLineResult {
  records: TraceRecord[];
  events: TraceEvent[];
  /** the runner's interval marker: everything since the previous marker is one interval */
  interval?: boolean;
  /** the interval's end marker (`=== zonescope interval N end ===`): the interval is whole
   * now, without waiting a second for the next one's marker */
  intervalEnd?: boolean;
}

export interface BpftraceParseOptions {
  /**
   * What each comma-separated key field of a map is, by map name (with or without `@`),
   * e.g. `{ '@': ['kstack', 'ustack', 'key'] }`. Without it: a field that starts with a
   * newline is a stack, an empty field next to a stack is an empty stack, of two stacks the
   * first is the kernel's, and a lone stack is judged by its frames (see isKernelFrames).
   */
  fields?: Record<string, FieldKind[]>;
}

export const INTERVAL_MARKER = '=== zonescope interval';
const INTERVAL_END = / end ===\s*$/;

const INT = /^-?\d+$/;

function toKey(s: string): Key {
  if (INT.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n)) return n;
  }
  return s;
}

/** Splits a JSON map key into its fields; stack fields run from "\n" to the "\n" not followed by indentation. */
export function splitKey(key: string): string[] {
  const fields: string[] = [];
  let pos = 0;
  const n = key.length;
  if (n === 0) return [''];
  while (pos <= n) {
    let end: number;
    if (key[pos] === '\n') {
      end = pos + 1;
      while (end < n && (key[end] === ' ' || key[end] === '\t')) {
        const nl = key.indexOf('\n', end);
        end = nl < 0 ? n : nl + 1;
      }
    } else {
      const comma = key.indexOf(',', pos);
      end = comma < 0 ? n : comma;
    }
    fields.push(key.slice(pos, end));
    if (end >= n) break;
    pos = key[end] === ',' ? end + 1 : end;
    if (pos === n) {
      fields.push('');
      break;
    }
  }
  return fields;
}

const KERNEL_SYMBOL =
  /^(entry_SYSCALL|do_syscall_64|ret_from_fork|secondary_startup|common_startup|x86_64_start|start_kernel|rest_init|cpu_startup_entry|do_idle|kthread|worker_thread|asm_|__x64_sys_|__sys_|irq_|handle_irq|sysvec_|el0_|el1_)/;

/**
 * Frames of a stack field, leaf first. `ustack(perf)` lines (`\tADDR sym+off (module)`) become
 * `module\`sym+off` like DTrace frames, so both tracers fold alike.
 */
function frames(field: string): string[] {
  const out: string[] = [];
  for (const raw of field.split('\n')) {
    const t = raw.trim();
    if (t === '') continue;
    const perf = /^[0-9a-f]+ (.+?) \((.*)\)$/.exec(t);
    if (perf) {
      const mod = perf[2];
      const base = mod.slice(mod.lastIndexOf('/') + 1);
      out.push(mod === '[unknown]' || mod === '[kernel.kallsyms]' ? perf[1] : `${base}\`${perf[1]}`);
    } else {
      out.push(t);
    }
  }
  return out;
}

/**
 * Whether a lone stack is the kernel's: a kernel-half address (0xffff8... and up), a
 * `[kernel.kallsyms]` perf frame or a kernel entry symbol (entry_SYSCALL_64, ret_from_fork,
 * do_idle, asm_*, __x64_sys_*...) says kernel; anything else is taken as user land.
 */
export function isKernelFrames(field: string): boolean {
  if (field.includes('[kernel.kallsyms]')) return true;
  for (const raw of field.split('\n')) {
    const t = raw.trim();
    if (!t) continue;
    const addr = /^(?:0x)?([0-9a-f]{16})\b/.exec(t);
    if (addr) {
      if (/^ffff[89a-f]/.test(addr[1])) return true;
      continue;
    }
    if (KERNEL_SYMBOL.test(t)) return true;
  }
  return false;
}

interface SplitKey {
  keys: Key[];
  stacks: { kind: 'kstack' | 'ustack'; frames: string[] }[];
}

function classify(agg: string, key: string, opts: BpftraceParseOptions): SplitKey {
  const fields = splitKey(key);
  const hint = opts.fields?.[`@${agg}`] ?? opts.fields?.[agg];
  let kinds: FieldKind[];
  if (hint && hint.length === fields.length) {
    kinds = hint;
  } else {
    const isStack = fields.map((f) => f.startsWith('\n'));
    const any = isStack.some(Boolean);
    const marked = fields.map((f, i) => isStack[i] || (any && f === '' && (isStack[i - 1] || isStack[i + 1])));
    const nStacks = marked.filter(Boolean).length;
    let seen = 0;
    kinds = fields.map((f, i) => {
      if (!marked[i]) return 'key';
      seen++;
      if (nStacks >= 2) return seen === 1 ? 'kstack' : 'ustack';
      return isKernelFrames(f) ? 'kstack' : 'ustack';
    });
  }
  const out: SplitKey = { keys: [], stacks: [] };
  fields.forEach((f, i) => {
    if (kinds[i] === 'key') out.keys.push(toKey(f));
    else out.stacks.push({ kind: kinds[i] as 'kstack' | 'ustack', frames: frames(f) });
  });
  return out;
}

/** Kernel frames first (they are the leaf side), then user frames. */
function combine(stacks: SplitKey['stacks']): { stack: string[]; kernel: number } {
  const k = stacks.filter((s) => s.kind === 'kstack').flatMap((s) => s.frames);
  const u = stacks.filter((s) => s.kind === 'ustack').flatMap((s) => s.frames);
  return { stack: [...k, ...u], kernel: k.length };
}

/** Keys of a non-scalar record: a stack becomes one key, frames leaf first joined by '\n'. */
function flatKeys(s: SplitKey): Key[] {
  return s.stacks.length ? [...s.stacks.map((x) => x.frames.join('\n')), ...s.keys] : s.keys;
}

function buckets(agg: string, rows: unknown): Bucket[] {
  if (!Array.isArray(rows)) throw new Error(`bpftrace: hist @${agg} is not an array of buckets`);
  return rows.map((b, i) => {
    const o = b as { min?: unknown; max?: unknown; count?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.count !== 'number') {
      throw new Error(`bpftrace: hist @${agg} bucket ${i} has no numeric count`);
    }
    if (o.min !== undefined && typeof o.min !== 'number') throw new Error(`bpftrace: hist @${agg} bucket ${i}: min is not a number`);
    if (o.max !== undefined && typeof o.max !== 'number') throw new Error(`bpftrace: hist @${agg} bucket ${i}: max is not a number`);
    // bpftrace bounds are inclusive integers; the record model's hi is exclusive
    return { lo: o.min ?? null, hi: o.max === undefined ? null : o.max + 1, count: o.count };
  });
}

function isStats(v: unknown): v is { count: number; average: number; total: number } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.count === 'number' && typeof o.average === 'number' && typeof o.total === 'number';
}

function mapRecords(type: string, data: unknown, opts: BpftraceParseOptions, events: TraceEvent[]): TraceRecord[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`bpftrace: "${type}" data is not an object of maps`);
  }
  const out: TraceRecord[] = [];
  for (const [name, body] of Object.entries(data as Record<string, unknown>)) {
    const agg = name.startsWith('@') ? name.slice(1) : name;
    const unkeyed = type === 'hist' ? Array.isArray(body) : typeof body !== 'object' || body === null || isStats(body);
    const entries: [SplitKey, unknown][] = unkeyed
      ? [[{ keys: [], stacks: [] }, body]]
      : Object.entries(body as Record<string, unknown>).map(([k, v]) => [classify(agg, k, opts), v]);
    let skipped = 0;
    for (const [key, v] of entries) {
      if (type === 'hist') {
        out.push({ kind: 'hist', agg, keys: flatKeys(key), buckets: buckets(agg, v) });
      } else if (isStats(v)) {
        out.push({ kind: 'stats', agg, keys: flatKeys(key), count: v.count, avg: v.average, total: v.total });
      } else if (typeof v === 'number') {
        if (key.stacks.length) out.push({ kind: 'stack', agg, keys: key.keys, ...combine(key.stacks), value: v });
        else out.push({ kind: 'scalar', agg, keys: key.keys, value: v });
      } else {
        skipped++;
      }
    }
    if (skipped) {
      events.push({ kind: 'warning', count: skipped, message: `@${agg}: ${skipped} non-numeric map values not recorded` });
    }
  }
  return out;
}

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

/**
 * bpftrace prints a sum() that went below zero (memleak's frees outweighing its mallocs in
 * an interval) as the unsigned 64-bit value, e.g. -4096 as 18446744073709547520, which a
 * double cannot even hold exactly. Such numbers outside strings are rewritten as the signed
 * value before JSON.parse sees them (only on lines holding a 19-digit run).
 */
export function signedValues(line: string): string {
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c < '0' || c > '9' || (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') || line[i - 1] === '-' || line[i - 1] === '.') continue;
    let j = i;
    while (j < line.length && line[j] >= '0' && line[j] <= '9') j++;
    if (j - i >= 19 && line[j] !== '.' && line[j] !== 'e' && line[j] !== 'E') {
      const v = BigInt(line.slice(i, j));
      if (v >= TWO_63 && v < TWO_64) {
        out += line.slice(from, i) + String(v - TWO_64);
        from = j;
      }
    }
    i = j - 1;
  }
  return from ? out + line.slice(from) : line;
}

/** Parses one line of `bpftrace -f json` output (or one stderr line). */
export function parseBpftraceLine(line: string, opts: BpftraceParseOptions = {}): BpftraceLineResult {
  const t = line.trim();
  if (!t.startsWith('{')) {
    // a stderr (or otherwise non-JSON) line, taken alone
    const d = classifyBpftraceDiagnostic(t);
    return { records: [], events: d ? [d.event] : [] };
  }
  let msg: { type?: unknown; data?: unknown };
  try {
    msg = JSON.parse(/\d{19}/.test(t) ? signedValues(t) : t);
  } catch (e) {
    throw new Error(`bpftrace: not a JSON line (${(e as Error).message}): ${t.slice(0, 200)}`);
  }
  const events: TraceEvent[] = [];
  const { type, data } = msg;
  if (typeof type !== 'string') throw new Error(`bpftrace: JSON line without a "type": ${t.slice(0, 200)}`);
  switch (type) {
    case 'map':
    case 'hist':
    case 'stats':
      return { records: mapRecords(type, data, opts, events), events };
    case 'printf':
    case 'time':
    case 'join':
    case 'syscall': {
      const text = typeof data === 'string' ? data : JSON.stringify(data);
      if (type === 'printf' && text.startsWith(INTERVAL_MARKER)) return { records: [], events, ...(INTERVAL_END.test(text) ? { intervalEnd: true } : { interval: true }) };
      return { records: [{ kind: 'printf', text: text.slice(0, 65536) }], events };
    }
    case 'attached_probes': {
      const n = (data as { probes?: unknown })?.probes;
      if (typeof n !== 'number') throw new Error('bpftrace: attached_probes without a numeric "probes"');
      return { records: [], events: [{ kind: 'info', count: n, message: `attached ${n} probe${n === 1 ? '' : 's'}` }] };
    }
    case 'lost_events': {
      const n = (data as { events?: unknown })?.events;
      if (typeof n !== 'number') throw new Error('bpftrace: lost_events without a numeric "events"');
      return { records: [], events: [{ kind: 'drops', count: n, message: `lost ${n} event${n === 1 ? '' : 's'}` }] };
    }
    case 'error':
      return { records: [], events: [{ kind: 'error', count: 1, message: String((data as { msg?: unknown })?.msg ?? JSON.stringify(data)).slice(0, 4096) }] };
    default:
      return { records: [], events: [{ kind: 'warning', count: 1, message: `unknown bpftrace output type "${type}"` }] };
  }
}
