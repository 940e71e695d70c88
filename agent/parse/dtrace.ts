// DTrace aggregation text (what `printa(@x)` and the exit-time print produce) → TraceRecords.
//
// The layout follows libdtrace's printing code, which is what makes the text parseable at all:
//  - every printed aggregation starts with a newline; keyed scalar records are one line each
//    (`  %-50s` for strings, ` %Nd` right-aligned for integers, ` %16lld` for the value);
//  - a stack key starts with a newline and prints one indented frame per line, so a record
//    with stack()+ustack() shows a kernel stack, a blank line, then the user stack;
//  - quantize/lquantize/llquantize print a newline, a `value --- Distribution --- count`
//    header and `%16s |bars count` rows, and every hist record ends with a blank line.
// So within one aggregation, stack and hist records are separated by one blank line, while
// scalar records never are; two blank lines (or a change of record shape) start the next
// aggregation.
import type { Bucket, TraceRecord } from '../../protocol/records.js';

type Key = string | number;

const HIST_HEADER = /^\s*(value|key)\s+-+ Distribution -+\s+count\s*$/;
// `%16s ` then the bar (spaces, @, |, or the UTF-8 block elements of -x encoding=utf8) then the count
const HIST_ROW = /^\s*(<=|>=|<|>)?\s*(-?\d+) ([ @|\u2580-\u259f]*\|[ @|\u2580-\u259f]*?) ?(-?\d+)\s*$/;
const INT = /^-?\d+$/;
const ENDS_WITH_INT = /(^|\s)(-?\d+)$/;
const MARKER = /^=== zonescope interval(?: \d+)?(?: ===)?\s*$/;

/** Lines that are not aggregation output but reach stdout in practice (banners, ^C echo, probe header). */
function isNoise(line: string): boolean {
  const t = line.trim();
  return (
    t.startsWith('dtrace: ') ||
    t === '^C' ||
    /^CPU\s+ID\s+FUNCTION:NAME$/.test(t) ||
    /^\d+\s+\d+\s+\S*:\S+$/.test(t) || // the probe line (CPU, ID, func:name) when not quiet
    MARKER.test(t)
  );
}

const KERNEL_MODULES = new Set([
  'unix', 'genunix', 'zfs', 'ip', 'tcp', 'udp', 'sockfs', 'specfs', 'ufs', 'nfs', 'rpcmod',
  'procfs', 'tmpfs', 'lofs', 'fifofs', 'devfs', 'doorfs', 'ctfs', 'objfs', 'sharefs', 'mntfs',
  'mac', 'dls', 'dld', 'vnic', 'aggr', 'sd', 'ahci', 'mpt_sas', 'mr_sas', 'nvme', 'blkdev',
  'kvm', 'vmm', 'viona', 'dtrace', 'fbt', 'sdt', 'profile', 'lockstat', 'fasttrap', 'TS',
  'FSS', 'FX', 'SDC', 'RT', 'IA', 'apix', 'pcplusmp', 'uppc', 'ohci', 'ehci', 'uhci', 'xhci',
  'hook', 'neti', 'ipf', 'ipnet', 'arp', 'icmp', 'sctp', 'zvol', 'stmf', 'lofi', 'ldterm',
  'ptm', 'pts', 'ttcompat', 'ptem', 'i40e', 'ixgbe', 'igb', 'e1000g', 'bnxe', 'vmxnet3s',
  'vioif', 'vioblk', 'bge', 'mm', 'random', 'portfs', 'cpu.generic', 'krtld', 'pci_autoconfig',
]);

/** A module name that can only be user land: shared objects, a.out, dot-prefixed binaries. */
function isUserModule(mod: string): boolean {
  return mod === 'a.out' || mod.startsWith('.') || /\.so(\.|$)/.test(mod);
}

/**
 * Whether a lone stack (one printed by a stack() or a ustack() key, nothing to compare it
 * with) is a kernel stack. DTrace does not say, so the rule is:
 *  - any frame that can only be user land — a shared object (`lib*.so*`), `a.out`, a
 *    dot-prefixed binary (`.netscape.bin`), a helper frame without a backtick (Java, Python
 *    annotations) — makes it a user stack;
 *  - otherwise it is a kernel stack when some frame's module is a known illumos kernel
 *    module (`unix`, `genunix`, `zfs`, `ip`, drivers, `cpu_ms.*`/`cpu.*`) or an address in
 *    the amd64 kernel half (0xffff8... and up);
 *  - anything else (e.g. only `node`func frames of a static executable) is user land.
 */
export function isKernelStack(frames: readonly string[]): boolean {
  let kernel = false;
  for (const raw of frames) {
    const f = raw.trim();
    const tick = f.indexOf('`');
    if (tick < 0) {
      const hex = /^(?:0x)?([0-9a-fA-F]+)(?:\+0x[0-9a-fA-F]+)?$/.exec(f);
      if (!hex) return false; // helper frame text (Java, Python): user land
      if (hex[1].length === 16 && /^ffff[89a-f]/i.test(hex[1])) kernel = true;
      continue;
    }
    const mod = f.slice(0, tick);
    if (isUserModule(mod)) return false;
    if (KERNEL_MODULES.has(mod) || /^cpu(_ms)?\./.test(mod)) kernel = true;
  }
  return kernel;
}

function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

function toKey(s: string): Key {
  if (INT.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n)) return n;
  }
  return s;
}

function toInt(s: string, what: string): number {
  if (!INT.test(s)) throw new Error(`dtrace: ${what} is not an integer: ${JSON.stringify(s)}`);
  return Number(s);
}

/**
 * Splits the key part of a record line into fields. libdtrace prints a string key as
 * `  %-50s`, so a string occupies 50 columns after its two leading spaces: words that start
 * inside those 50 columns belong to the same key (keys can hold spaces), while the next
 * field cannot start before the 51st column.
 */
function keyFields(text: string): string[] {
  const fields: string[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  let open: { start: number; end: number } | null = null;
  while ((m = re.exec(text))) {
    const start = m.index;
    const end = start + m[0].length;
    if (open && start < open.start + 50) {
      open.end = end;
      continue;
    }
    if (open) fields.push(text.slice(open.start, open.end));
    open = null;
    if (INT.test(m[0])) fields.push(m[0]);
    else open = { start, end };
  }
  if (open) fields.push(text.slice(open.start, open.end));
  return fields;
}

/** Splits a record line into its key fields and its value (the last integer). */
function splitValueLine(line: string): { keys: string[]; value: number } | null {
  const t = line.trimEnd();
  const m = ENDS_WITH_INT.exec(t);
  if (!m) return null;
  const head = t.slice(0, t.length - m[2].length);
  return { keys: keyFields(head), value: Number(m[2]) };
}

/**
 * Scalar records of one aggregation, one per line. A column is numeric only when every
 * line has an integer there, so an execname like `123` next to real names stays a string;
 * lines whose string key outgrew its 50 columns and split into more fields are merged back.
 */
function scalarBlock(lines: string[], agg: string): TraceRecord[] {
  const rows = lines.map((l) => {
    const r = splitValueLine(l);
    if (!r) throw new Error(`dtrace: expected "keys value" in aggregation line ${JSON.stringify(l)}`);
    return r;
  });
  const counts = rows.map((r) => r.keys.length);
  const width = Math.min(...counts);
  for (const r of rows) {
    if (r.keys.length > width) {
      const s = r.keys.findIndex((k) => !INT.test(k));
      const at = s < 0 ? 0 : s;
      const extra = r.keys.length - width;
      r.keys.splice(at, extra + 1, r.keys.slice(at, at + extra + 1).join(' '));
    }
  }
  const numeric = Array.from({ length: width }, (_, i) => rows.every((r) => INT.test(r.keys[i])));
  return rows.map((r) => ({
    kind: 'scalar' as const,
    agg,
    keys: r.keys.map((k, i) => (numeric[i] ? toKey(k) : k)),
    value: r.value,
  }));
}

function histBuckets(rows: string[]): Bucket[] {
  const starts: (number | null)[] = [];
  const bounds: number[] = [];
  const counts: number[] = [];
  for (const row of rows) {
    const m = HIST_ROW.exec(row);
    if (!m) throw new Error(`dtrace: bad histogram row ${JSON.stringify(row)}`);
    const op = m[1];
    const v = Number(m[2]);
    bounds.push(op === '<=' ? v + 1 : op === '>' ? v + 1 : v);
    starts.push(op === '<' || op === '<=' ? null : op === '>' ? v + 1 : v);
    counts.push(Number(m[4]));
  }
  const values = starts.filter((s): s is number => s !== null);
  // quantize's negative rows are power-of-two buckets labelled with their end nearest zero:
  // row -4 holds -7..-4. Seen when all rows are 0 or ±2^k and consecutive negative rows halve.
  const pow2 = (n: number) => n !== 0 && (Math.abs(n) & (Math.abs(n) - 1)) === 0;
  const quantize =
    starts.every((s) => s !== null) &&
    values.every((v) => v === 0 || pow2(v)) &&
    values.some((v) => v < -1) &&
    values.every((v, i) => i === 0 || v >= 0 || v * 2 === values[i - 1] || values[i - 1] === undefined);
  return starts.map((lo, i) => {
    if (quantize && lo !== null && lo < 0) return { lo: lo * 2 + 1, hi: lo + 1, count: counts[i] };
    const next = i + 1 < rows.length ? (starts[i + 1] ?? bounds[i + 1]) : null;
    const hi = lo === null ? (next ?? bounds[i]) : next;
    return { lo, hi, count: counts[i] };
  });
}

interface Block {
  lines: string[];
  /** blank lines before the block */
  gap: number;
}

function toBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let cur: string[] | null = null;
  let gap = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (cur) {
        blocks.push({ lines: cur, gap });
        cur = null;
        gap = 0;
      }
      gap++;
      continue;
    }
    if (isNoise(line)) continue;
    if (!cur) cur = [];
    cur.push(line);
  }
  if (cur) blocks.push({ lines: cur, gap });
  return blocks;
}

/** Every line "keys... value" with at least one key, or a lone value (an unkeyed aggregation). */
function isScalarBlock(lines: string[]): boolean {
  if (lines.length === 1 && INT.test(lines[0].trim())) return true;
  return lines.every((l) => /\S\s+-?\d+$/.test(l.trimEnd()));
}

interface Pending {
  keys: Key[];
  segments: string[][];
  trailingKeys: Key[];
}

/**
 * Key lines printed above a stack (`@[execname, ustack()]`): the leading lines not at the
 * frames' indentation (stackindent, 14 by default; a key is `  %-50s` or a right-aligned
 * number). The frames' indentation is the most common one, ties going to the last frame's.
 */
function takeKeyLines(lines: string[], lastIsValue: boolean): { keys: Key[]; frames: string[] } {
  const frameLines = lastIsValue ? lines.slice(0, -1) : lines;
  if (frameLines.length === 0) return { keys: [], frames: [] };
  const tally = new Map<number, number>();
  for (const l of frameLines) tally.set(indentOf(l), (tally.get(indentOf(l)) ?? 0) + 1);
  let frameIndent = indentOf(frameLines[frameLines.length - 1]);
  for (const [ind, n] of tally) if (n > (tally.get(frameIndent) ?? 0)) frameIndent = ind;
  let k = 0;
  while (k < frameLines.length - 1 && indentOf(frameLines[k]) !== frameIndent) k++;
  const keys = frameLines.slice(0, k).flatMap((l) => keyFields(l).map(toKey));
  return { keys, frames: frameLines.slice(k).map((l) => l.trim()) };
}

/**
 * The value line ending a stack record: the count alone (` %16lld`), or keys printed after
 * the stack followed by the count. Like stackcollapse.pl, a line of digits is a count.
 */
function stackValue(lines: string[]): { keys: Key[]; value: number } | null {
  const last = lines[lines.length - 1].trim();
  if (INT.test(last)) return { keys: [], value: Number(last) };
  if (last.includes('`')) return null;
  const v = splitValueLine(last);
  return v && v.keys.length > 0 ? { keys: v.keys.map(toKey), value: v.value } : null;
}

function stackRecord(p: Pending, agg: string, value: number): TraceRecord {
  let segs = p.segments;
  // by convention stack() comes before ustack(); if a script wrote them the other way round,
  // put the kernel frames first anyway (they are the leaf side of the combined stack)
  if (segs.length === 2 && !isKernelStack(segs[0]) && isKernelStack(segs[1])) segs = [segs[1], segs[0]];
  let kernel = 0;
  if (segs.length === 1) kernel = isKernelStack(segs[0]) ? segs[0].length : 0;
  else for (const s of segs.slice(0, -1)) if (isKernelStack(s)) kernel += s.length; else break;
  return {
    kind: 'stack',
    agg,
    keys: [...p.keys, ...p.trailingKeys],
    stack: segs.flat(),
    kernel,
    value,
  };
}

/**
 * Parses DTrace aggregation output. `names` gives the aggregation names in print order
 * (DTrace does not print them); aggregations past the list get ''.
 * Stack keys on a hist record become one string key, frames leaf first joined by '\n'.
 */
export function parseDtraceAggregations(text: string, names: string[] = []): TraceRecord[] {
  const out: TraceRecord[] = [];
  const blocks = toBlocks(text);
  let aggIndex = -1;
  let prevShape = '';
  let pending: Pending | null = null;
  // the current aggregation's key holds two stacks (stack(), ustack()): then a record whose
  // kernel stack is empty shows that stack as one more blank line, not a new aggregation
  let twoStacks = false;
  const name = () => names[aggIndex] ?? '';
  const begin = (shape: string, gap: number, prevScalar: boolean) => {
    if (aggIndex < 0 || gap >= 2 || prevScalar || shape !== prevShape) {
      aggIndex++;
      twoStacks = false;
    }
    prevShape = shape;
  };

  for (const b of blocks) {
    const lines = b.lines;
    const headerAt = lines.findIndex((l) => HIST_HEADER.test(l));

    if (pending && headerAt < 0) {
      // an unfinished stack key goes on: the next stack of the key (stack() then ustack()),
      // or only the value when the second stack is empty (a kernel thread has no ustack)
      const v = stackValue(lines);
      const seg = (v ? lines.slice(0, -1) : lines).map((l) => l.trim());
      if (seg.length) pending.segments.push(seg);
      twoStacks = true;
      if (v) {
        pending.trailingKeys = v.keys;
        out.push(stackRecord(pending, name(), v.value));
        pending = null;
      }
      continue;
    }

    if (headerAt >= 0) {
      let keys: Key[] = lines.slice(0, headerAt).flatMap((l) => keyFields(l).map(toKey));
      if (pending) {
        keys = [...pending.keys, ...pending.segments.map((s) => s.join('\n')), ...keys];
        pending = null;
      } else {
        begin(`hist:${keys.length}`, b.gap, prevShape.startsWith('scalar'));
      }
      out.push({ kind: 'hist', agg: name(), keys, buckets: histBuckets(lines.slice(headerAt + 1)) });
      continue;
    }

    if (isScalarBlock(lines)) {
      const recs = scalarBlock(lines, '');
      const keyCount = recs[0].kind === 'scalar' ? recs[0].keys.length : 0;
      begin(`scalar:${keyCount}`, b.gap, prevShape.startsWith('scalar'));
      for (const r of recs) if (r.kind === 'scalar') r.agg = name();
      out.push(...recs);
      continue;
    }

    // a stack key, possibly with key lines above it; complete when its last line is the value
    const v = stackValue(lines);
    const { keys, frames } = takeKeyLines(lines, v !== null);
    const shape = `stack:${keys.length}`;
    // One blank line more than a record needs, before a whole user-land record, is an empty
    // kernel stack: within a stack(), ustack() aggregation a record follows after 1 blank
    // line, so 2 means "no kernel frames"; a new aggregation's first record follows 2 blank
    // lines (3 after a histogram, whose records end with one), so one more means the same.
    // Text alone cannot tell this from a next aggregation keyed by ustack() only; the curated
    // scripts never print one right after a stack(), ustack() aggregation.
    const userOnly = v !== null && keys.length === 0 && frames.length > 0 && !isKernelStack(frames);
    const sameAgg = aggIndex >= 0 && shape === prevShape && twoStacks && b.gap === 2;
    const newAggGap = prevShape.startsWith('hist') ? 3 : 2;
    const emptyKernel = userOnly && (sameAgg || b.gap === newAggGap + 1);
    if (!sameAgg || !emptyKernel) begin(shape, b.gap, prevShape.startsWith('scalar'));
    if (emptyKernel) twoStacks = true;
    pending = { keys, segments: emptyKernel ? [[], frames] : frames.length ? [frames] : [], trailingKeys: [] };
    if (v) {
      pending.trailingKeys = v.keys;
      out.push(stackRecord(pending, name(), v.value));
      pending = null;
    }
  }
  if (pending) throw new Error('dtrace: output ends inside a stack key (no value line)');
  return out;
}

/**
 * Splits the runner's stdout into intervals. The curated scripts print
 * `=== zonescope interval <n> ===` on every tick before their printa calls; text before the
 * first marker and after the last one (the exit-time print) is returned as well, so nothing
 * DTrace printed is dropped. Only the unfinished interval is held in memory.
 */
export class DtraceIntervalSplitter {
  private cur = '';
  private partial = '';

  push(chunk: string): string[] {
    const done: string[] = [];
    const text = this.partial + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      const line = text.slice(start, nl + 1);
      start = nl + 1;
      if (MARKER.test(line.replace(/\r?\n$/, ''))) {
        if (this.cur.trim() !== '') done.push(this.cur);
        this.cur = '';
      } else {
        this.cur += line;
      }
    }
    this.partial = text.slice(start);
    return done;
  }

  end(): string[] {
    const rest = this.cur + (MARKER.test(this.partial) ? '' : this.partial);
    this.cur = '';
    this.partial = '';
    return rest.trim() !== '' ? [rest] : [];
  }
}
