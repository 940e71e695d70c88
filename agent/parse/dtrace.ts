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
//
// A capture someone pastes holds more than that: the command and its prompt, `dtrace:`
// banners, `^C`, the probe header and probe lines of trace() output, printf banners, prose
// around the output, `...` elisions, and printa() with a format string (value first, one
// `@a = 1` line, a label line before each histogram). Such lines are skipped and reported with
// their line numbers, never taken as keys or frames; a block that is aggregation output but
// cannot be read is an error naming its line, and the records before and after it are kept.
import type { Bucket, TraceEvent, TraceRecord } from '../../protocol/records.js';
import { toCount, toWire, type Count, type ExactRecord } from './exact.js';

type Key = string | number;

const HIST_HEADER = /^\s*(value|key)\s+-+ Distribution -+\s+count\s*$/;
// `%16s ` then the bar (spaces, @, |, or the UTF-8 block elements of -x encoding=utf8) then the count
const HIST_ROW = /^\s*(abs\(\)\s*<|<=|>=|<|>)?\s*(-?\d+) ([ @|\u2580-\u259f]*\|[ @|\u2580-\u259f]*?) ?(-?\d+)\s*$/;
const INT = /^-?\d+$/;
const ENDS_WITH_INT = /(^|\s)(-?\d+)$/;
// an interval's start, or its end (the curated scripts mark both, so a whole interval is
// sent at once rather than when the next one starts)
const MARKER = /^=== zonescope interval(?: \d+)?(?: end)?(?: ===)?\s*$/;

export type SkipReason = 'banner' | 'prompt' | 'probe' | 'elision' | 'text';

/**
 * Lines that are never aggregation output: DTrace's own messages, the shell around the
 * command, the probe header and probe lines of trace() output, elisions. (The interval
 * marker is the runner's and is not reported.)
 */
function noise(line: string): SkipReason | 'marker' | null {
  const t = line.trim();
  if (MARKER.test(t)) return 'marker';
  if (t.startsWith('dtrace:')) return 'banner';
  if (t === '^C' || /^(\[[^\]]*\]|[\w.@:~/-]*)[#$%>](\s|$)/.test(t)) return 'prompt';
  if (/^CPU\s+ID\s+FUNCTION:NAME$/.test(t) || /^\d+\s+\d+\s+\S*:\S*(\s.*)?$/.test(t)) return 'probe';
  if (/^(\.\.\.|\[\.\.\.\]|\u2026|\[\u2026\])$/.test(t)) return 'elision';
  return null;
}

/**
 * Prose: a line starting in the first column that is no record (libdtrace indents every key,
 * frame and value), or words ending a sentence. Frames and keys do neither.
 */
function isProse(line: string): boolean {
  if (HIST_HEADER.test(line)) return false;
  // a sentence that happens to end in a number ("... priority of 55 to 59")
  if (indentOf(line) === 0 && (line.match(/[A-Za-z]{2,}/g)?.length ?? 0) >= 4 && !line.includes('`')) return true;
  if (isRecordLine(line)) return false;
  if (indentOf(line) === 0) return true;
  const t = line.trim();
  return /[A-Za-z]{2,}\S*\s+\S+/.test(t) && /[.!?,;:]$/.test(t) && !t.includes('`');
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

const ASSIGN = /^\s*@([A-Za-z_][A-Za-z0-9_]*)?\s*(?:=|:)\s*(-?\d+)\s*$/;
const VALUE_FIRST = /^\s*(-?\d+)\s+(\S.*?)\s*$/;

/** `keys... value` (the default layout) or a lone value (an unkeyed aggregation). */
const isKeyedLine = (l: string) => /\S\s+-?\d+$/.test(l.trimEnd()) || INT.test(l.trim());
/** A line that is a whole scalar record in some printa layout. */
function isRecordLine(l: string): boolean {
  // a value printed first is right-aligned (`%@8u`), so it is indented; `2005 Apr 25 ...`
  // in the first column is printf output
  return isKeyedLine(l) || ASSIGN.test(l) || (VALUE_FIRST.test(l) && indentOf(l) > 0);
}

/** Splits a record line into its key fields and its value (the last integer). */
function splitValueLine(line: string): { keys: string[]; value: Count } | null {
  const t = line.trimEnd();
  const m = ENDS_WITH_INT.exec(t);
  if (!m) return null;
  const head = t.slice(0, t.length - m[2].length);
  return { keys: keyFields(head), value: toCount(m[2]) };
}

export interface Line {
  /** 1-based, in the text given */
  no: number;
  text: string;
}

export interface Skipped {
  line: number;
  text: string;
  why: SkipReason;
}

export interface LineError {
  line: number;
  text: string;
  message: string;
}

/**
 * Scalar records of one aggregation, one per line. A column is numeric only when every
 * line has an integer there, so an execname like `123` next to real names stays a string;
 * lines whose string key outgrew its 50 columns and split into more fields are merged back.
 * printa() formats print `@a = 1` (the aggregation's name, no key) or the value first
 * (`%@8u %a`): those lines are records of their own.
 */
function scalarBlock(lines: Line[], agg: string): ExactRecord[] {
  const out: ExactRecord[] = [];
  const rows: { keys: string[]; value: Count; at: number }[] = [];
  lines.forEach((l, at) => {
    const a = ASSIGN.exec(l.text);
    if (a) return void out.push({ kind: 'scalar', agg: a[1] ?? agg, keys: [], value: toCount(a[2]) });
    if (isKeyedLine(l.text)) {
      const r = splitValueLine(l.text)!;
      return void rows.push({ ...r, at });
    }
    const v = VALUE_FIRST.exec(l.text)!;
    rows.push({ keys: [v[2]], value: toCount(v[1]), at });
  });
  if (rows.length === 0) return out;
  const width = Math.min(...rows.map((r) => r.keys.length));
  for (const r of rows) {
    if (r.keys.length > width) {
      const s = r.keys.findIndex((k) => !INT.test(k));
      const at = s < 0 ? 0 : s;
      const extra = r.keys.length - width;
      r.keys.splice(at, extra + 1, r.keys.slice(at, at + extra + 1).join(' '));
    }
  }
  const numeric = Array.from({ length: width }, (_, i) => rows.every((r) => INT.test(r.keys[i])));
  for (const r of rows) {
    out.push({ kind: 'scalar', agg, keys: r.keys.map((k, i) => (numeric[i] ? toKey(k) : k)), value: r.value });
  }
  return out;
}

const pow2 = (n: number) => n !== 0 && (Math.abs(n) & (Math.abs(n) - 1)) === 0;

/**
 * Buckets of a quantize, lquantize or llquantize block. Every row is labelled with a bound:
 *  - lquantize (a constant step) labels each row with its lowest value: row v is [v, next);
 *  - quantize and llquantize label a negative row with its value nearest zero: row -4 holds
 *    -7..-4, i.e. (previous row, v]; zero and positive rows are [v, next row);
 *  - `< v` is everything below v, `<= v` everything up to v, `>= v` everything from v,
 *    `abs() < v` (signed llquantize) everything strictly between -v and v.
 */
function histBuckets(rows: { op: string; v: number; count: Count }[]): ExactBucket[] {
  const finite = rows.filter((r) => r.op === '').map((r) => r.v);
  const steps = finite.slice(1).map((v, i) => v - finite[i]);
  const uniform = steps.every((d) => d === steps[0]);
  const powers = finite.every((v) => v === 0 || pow2(v));
  const linear = uniform && !rows.some((r) => r.op === '<=' || r.op.startsWith('abs')) && !(powers && finite.some((v) => Math.abs(v) > 2));
  const lowOf = (r: { op: string; v: number }): number | null => {
    if (r.op === '<' || r.op === '<=') return null;
    if (r.op.startsWith('abs')) return -(r.v - 1);
    return r.v;
  };
  return rows.map((r, i) => {
    const prev = rows[i - 1];
    const next = rows[i + 1];
    switch (true) {
      case r.op === '<':
        return { lo: null, hi: r.v, count: r.count };
      case r.op === '<=':
        return { lo: null, hi: r.v + 1, count: r.count };
      case r.op === '>=' || r.op === '>':
        return { lo: r.op === '>' ? r.v + 1 : r.v, hi: null, count: r.count };
      case r.op.startsWith('abs'):
        return { lo: -(r.v - 1), hi: r.v, count: r.count };
      case !linear && r.v < 0: {
        const lo = prev ? (prev.op === '<' ? prev.v : prev.v + 1) : powers ? r.v * 2 + 1 : null;
        return { lo, hi: r.v + 1, count: r.count };
      }
      default:
        return { lo: r.v, hi: next ? lowOf(next) ?? next.v : null, count: r.count };
    }
  });
}
type ExactBucket = Omit<Bucket, 'count'> & { count: Count };

interface Block {
  lines: Line[];
  /** blank lines before the block */
  gap: number;
}

interface Pending {
  keys: Key[];
  segments: string[][];
  trailingKeys: Key[];
  /** where the key started, for an error */
  line: Line;
}

/**
 * Key lines printed above a stack (`@[execname, ustack()]`): the leading lines not at the
 * frames' indentation (stackindent, 14 by default; a key is `  %-50s` or a right-aligned
 * number). The frames' indentation is the most common one, ties going to the last frame's.
 * A line indented deeper than the frames is the wrapped rest of the frame above it.
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
  return { keys, frames: joinWrapped(frameLines.slice(k)) };
}

/** Frames, trimmed; a line indented deeper than the first frame is the wrapped rest of the one above. */
function joinWrapped(lines: string[]): string[] {
  const frames: string[] = [];
  const base = lines.length ? indentOf(lines[0]) : 0;
  for (const l of lines) {
    if (frames.length && indentOf(l) > base) frames[frames.length - 1] += l.trim();
    else frames.push(l.trim());
  }
  return frames;
}

/**
 * The value line ending a stack record: the count alone (` %16lld`), or keys printed after
 * the stack followed by the count. Like stackcollapse.pl, a line of digits is a count.
 */
function stackValue(lines: string[]): { keys: Key[]; value: Count } | null {
  const last = lines[lines.length - 1].trim();
  if (INT.test(last)) return isPcOfDigits(lines) ? null : { keys: [], value: toCount(last) };
  if (last.includes('`')) return null;
  const v = splitValueLine(last);
  return v && v.keys.length > 0 ? { keys: v.keys.map(toKey), value: v.value } : null;
}

/** Unmistakably a frame: module`symbol, an offset, an address, a Java or Python path. */
const isFrame = (l: string) => /`|\+0x[0-9a-f]+$|^(0x)?[0-9a-f]{6,}$|^[\w$.[\s]*[\w$.]+\/\S/i.test(l.trim());

/**
 * Whether the last line, all digits, is a frame (an unresolved PC such as `8394670`) rather
 * than the count: a frame starts at the frames' indentation, while the count is ` %16lld`,
 * right-aligned three columns past where the frames start (stackindent 14, count ending at 17).
 */
function isPcOfDigits(lines: string[]): boolean {
  if (lines.length < 2) return false;
  const last = lines[lines.length - 1];
  const at = indentOf(lines[lines.length - 2]);
  return INT.test(last.trim()) && indentOf(last) === at && last.trimEnd().length !== at + 3;
}

function stackRecord(p: Pending, agg: string, value: Count): ExactRecord {
  let segs = p.segments;
  // by convention stack() comes before ustack(); if a script wrote them the other way round,
  // put the kernel frames first anyway (they are the leaf side of the combined stack)
  if (segs.length === 2 && !isKernelStack(segs[0]) && isKernelStack(segs[1])) segs = [segs[1], segs[0]];
  let kernel = 0;
  if (segs.length === 1) kernel = isKernelStack(segs[0]) ? segs[0].length : 0;
  else for (const s of segs.slice(0, -1)) if (isKernelStack(s)) kernel += s.length; else break;
  return { kind: 'stack', agg, keys: [...p.keys, ...p.trailingKeys], stack: segs.flat(), kernel, value };
}

/**
 * The aggregations' names in print order; a group is one printa() of several aggregations
 * (`printa(@a, @b)`), whose values print side by side after the keys.
 */
export type AggNames = (string | string[])[];

/** A line of `printa(@a, @b, ...)`: the last values, one per aggregation; the rest are keys. */
function sideBySide(r: Extract<ExactRecord, { kind: 'scalar' }>, group: string[]): ExactRecord[] {
  const extra = group.length - 1;
  const values = r.keys.slice(r.keys.length - extra);
  if (values.length < extra || values.some((v) => typeof v !== 'number')) return [{ ...r, agg: group[0] }];
  const keys = r.keys.slice(0, r.keys.length - extra);
  return [...values, r.value].map((value, i) => ({ kind: 'scalar' as const, agg: group[i], keys, value: value as Count }));
}

export interface DtraceCapture {
  records: ExactRecord[];
  /** lines that are not aggregation output (prompts, banners, prose...), in order */
  skipped: Skipped[];
  /** aggregation output that could not be read; the records around it are kept */
  errors: LineError[];
}

/** Blank-line separated blocks of the lines that may be aggregation output. */
function toBlocks(text: string, skipped: Skipped[], firstLine: number): Block[] {
  const blocks: Block[] = [];
  let cur: Line[] | null = null;
  let gap = 0;
  const lines = text.split(/\r?\n/);
  // after a probe line (trace() output when not quiet), what stack() or ustack() actions
  // printed for that probe, up to the next blank line
  let traced = false;
  lines.forEach((t, i) => {
    if (t.trim() === '') {
      traced = false;
      if (cur) {
        blocks.push({ lines: cur, gap });
        cur = null;
        gap = 0;
      }
      // the last split piece is what follows the final newline, not a blank line
      if (i < lines.length - 1) gap++;
      return;
    }
    const why = noise(t) ?? (traced && !isRecordLine(t) ? 'probe' : null);
    if (why) {
      if (why !== 'marker') skipped.push({ line: i + firstLine, text: t, why });
      if (why === 'probe' && !/^\s*CPU\s/.test(t)) traced = true;
      return;
    }
    (cur ??= []).push({ no: i + firstLine, text: t });
  });
  if (cur) blocks.push({ lines: cur, gap });
  return blocks;
}

/**
 * Parses a DTrace capture: aggregation output with anything around it. `names` gives the
 * aggregation names in print order (DTrace does not print them); aggregations past the list
 * get ''. Stack keys on a hist record become one string key, frames leaf first joined by '\n'.
 */
export function parseDtraceCapture(text: string, names: AggNames = [], firstLine = 1): DtraceCapture {
  const out: ExactRecord[] = [];
  const skipped: Skipped[] = [];
  const errors: LineError[] = [];
  const blocks = toBlocks(text, skipped, firstLine);
  let aggIndex = -1;
  let prevShape = '';
  let pending: Pending | null = null;
  // the current aggregation's key holds two stacks (stack(), ustack()): then a record whose
  // kernel stack is empty shows that stack as one more blank line, not a new aggregation
  let twoStacks = false;
  const group = () => names[aggIndex] ?? '';
  const name = () => [group()].flat()[0] ?? '';
  const begin = (shape: string, gap: number, prevScalar: boolean) => {
    if (aggIndex < 0 || gap >= 2 || prevScalar || shape !== prevShape) {
      aggIndex++;
      twoStacks = false;
    }
    prevShape = shape;
  };
  const skip = (ls: Line[]) => skipped.push(...ls.map((l) => ({ line: l.no, text: l.text, why: 'text' as const })));
  const unfinished = () => {
    if (!pending) return;
    errors.push({ line: pending.line.no, text: pending.line.text, message: 'a stack key with no count line after it' });
    pending = null;
  };

  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi];
    let lines = b.lines;
    // prose is set apart first, wherever it is in the block
    const prose = lines.filter((l) => isProse(l.text));
    if (prose.length) {
      skip(prose);
      lines = lines.filter((l) => !isProse(l.text));
    }
    // printa("label %d\n%@d\n") prints a line, one blank line, then the histogram: the line
    // is that histogram's key (an aggregation printed by default is followed by two)
    const next = blocks[bi + 1];
    if (lines.length && next && next.gap === 1 && HIST_HEADER.test(next.lines[0].text) && isRecordLine(lines[lines.length - 1].text)) {
      next.lines = [lines[lines.length - 1], ...next.lines];
      next.gap = b.gap;
      lines = lines.slice(0, -1);
    }
    if (lines.length === 0) continue;
    const texts = lines.map((l) => l.text);
    const headerAt = texts.findIndex((l) => HIST_HEADER.test(l));

    if (pending && headerAt < 0) {
      // an unfinished stack key goes on: the next stack of the key (stack() then ustack()),
      // or only the value when the second stack is empty (a kernel thread has no ustack)
      const v = stackValue(texts);
      const seg = joinWrapped(v ? texts.slice(0, -1) : texts);
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
      let keys: Key[] = texts.slice(0, headerAt).flatMap((l) => keyFields(l).map(toKey));
      const stackKeyed = pending !== null;
      if (pending) {
        keys = [...pending.keys, ...pending.segments.map((s) => s.join('\n')), ...keys];
        pending = null;
      } else {
        begin(`hist:${keys.length}`, b.gap, prevShape.startsWith('scalar'));
      }
      const rows: { op: string; v: number; count: Count }[] = [];
      let end = lines.length;
      for (let i = headerAt + 1; i < lines.length; i++) {
        const m = HIST_ROW.exec(lines[i].text);
        if (m) {
          rows.push({ op: (m[1] ?? '').replace(/\s+/g, ''), v: Number(m[2]), count: toCount(m[4]) });
          continue;
        }
        // a bad row among good ones costs only itself; after the last row, the block goes on
        // with whatever was printed next (printa("%@d %@d\n") puts text after a histogram)
        if (lines.slice(i + 1).some((l) => HIST_ROW.test(l.text))) {
          errors.push({ line: lines[i].no, text: lines[i].text, message: 'not a histogram row' });
          continue;
        }
        end = i;
        break;
      }
      let rest = lines.slice(end);
      let agg = name();
      const post: ExactRecord[] = [];
      const g = group();
      if (Array.isArray(g) && !stackKeyed && rows.length) {
        // printa(@a, @h, @b) with @h a histogram: the values of the aggregations before it end
        // its key line, those after it make the line after its last row
        const after = rest.length && /^\s*-?\d+(\s+-?\d+)*\s*$/.test(rest[0].text) ? rest[0].text.trim().split(/\s+/) : [];
        const j = g.length - 1 - after.length;
        const before = j >= 0 && j <= keys.length ? keys.slice(keys.length - j) : [];
        if (j >= 0 && before.length === j && before.every((k) => typeof k === 'number')) {
          keys = keys.slice(0, keys.length - j);
          before.forEach((v, i) => out.push({ kind: 'scalar', agg: g[i], keys, value: v }));
          after.forEach((v, i) => post.push({ kind: 'scalar', agg: g[j + 1 + i], keys, value: toCount(v) }));
          agg = g[j];
          if (after.length) rest = rest.slice(1);
        }
      }
      if (rows.length === 0) {
        errors.push({ line: lines[headerAt].no, text: lines[headerAt].text, message: 'a histogram header with no rows under it' });
      } else {
        out.push({ kind: 'hist', agg, keys, buckets: histBuckets(rows) }, ...post);
      }
      if (rest.length) blocks.splice(bi + 1, 0, { lines: rest, gap: 0 });
      continue;
    }

    if (texts.every(isRecordLine) && !(texts.length > 1 && isPcOfDigits(texts))) {
      const recs = scalarBlock(lines, '');
      const first = recs.find((r) => r.kind === 'scalar' && r.agg === '');
      const keyCount = first && 'keys' in first ? first.keys.length : 0;
      begin(`scalar:${keyCount}`, b.gap, prevShape.startsWith('scalar'));
      const g = group();
      for (const r of recs) {
        if (r.kind !== 'scalar' || r.agg !== '') out.push(r);
        else out.push(...(Array.isArray(g) ? sideBySide(r, g) : [{ ...r, agg: g }]));
      }
      continue;
    }

    // a stack key, possibly with key lines above it; complete when its last line is the value.
    // Lines with nothing that looks like a frame are text (a printf header, a wrapped command).
    if (!texts.some(isFrame)) {
      skip(lines);
      continue;
    }
    const v = stackValue(texts);
    const { keys, frames } = takeKeyLines(texts, v !== null);
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
    pending = { keys, segments: emptyKernel ? [[], frames] : frames.length ? [frames] : [], trailingKeys: [], line: lines[0] };
    if (v) {
      pending.trailingKeys = v.keys;
      out.push(stackRecord(pending, name(), v.value));
      pending = null;
    }
  }
  unfinished();
  return { records: out, skipped, errors };
}

/**
 * The records of one interval's text, for the agent: counts as the wire carries them. Lines
 * that are not aggregation output and unreadable blocks are left out (the capture says which).
 */
export function parseDtraceAggregations(text: string, names: AggNames = []): TraceRecord[] {
  return parseDtraceCapture(text, names).records.map((r) => toWire(r));
}

/**
 * One interval of the agent's DTrace output → its records and what could not be read, as
 * events: the lines skipped (`unparsed`, counted into zonescope_trace_lines_unparsed_total)
 * and counts rounded to fit the wire. A bad line costs only itself, never the interval.
 */
export function dtraceInterval(text: string, names: AggNames, firstLine = 1): { records: TraceRecord[]; events: TraceEvent[] } {
  const c = parseDtraceCapture(text, names, firstLine);
  const rounded = { n: 0 };
  const records = c.records.map((r) => toWire(r, rounded));
  const events: TraceEvent[] = [];
  const bad = [...c.errors.map((e) => ({ ...e, why: e.message })), ...c.skipped.map((s) => ({ ...s, why: `not aggregation output (${s.why})` }))].sort((a, b) => a.line - b.line);
  if (bad.length) {
    const first = bad[0];
    const message = `${bad.length} line${bad.length === 1 ? '' : 's'} of DTrace output skipped; first, line ${first.line}: ${first.why}: ${first.text.trim()}`;
    events.push({ kind: 'unparsed', count: bad.length, message: message.slice(0, 4096) });
  }
  if (rounded.n) events.push({ kind: 'warning', count: rounded.n, message: `${rounded.n} count${rounded.n === 1 ? '' : 's'} past 2^53 rounded to the nearest number` });
  return { records, events };
}

/** One interval's text and the line of the whole output it starts on. */
export interface IntervalText {
  text: string;
  line: number;
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
  /** lines read so far, and the line the unfinished interval starts on */
  private lines = 0;
  private start = 1;

  push(chunk: string): IntervalText[] {
    const done: IntervalText[] = [];
    const text = this.partial + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      const line = text.slice(start, nl + 1);
      start = nl + 1;
      this.lines++;
      if (MARKER.test(line.replace(/\r?\n$/, ''))) {
        if (this.cur.trim() !== '') done.push({ text: this.cur, line: this.start });
        this.cur = '';
        this.start = this.lines + 1;
      } else {
        this.cur += line;
      }
    }
    this.partial = text.slice(start);
    return done;
  }

  end(): IntervalText[] {
    const rest = this.cur + (MARKER.test(this.partial) ? '' : this.partial);
    const line = MARKER.test(this.partial) && this.cur.trim() === '' ? this.lines + 2 : this.start;
    this.cur = '';
    this.partial = '';
    return rest.trim() !== '' ? [{ text: rest, line }] : [];
  }
}
