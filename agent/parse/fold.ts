// Stacks → folded lines (`root;...;leaf count`), the input of flamegraph.pl and of the UI's
// flame graph. Frame clean-up follows FlameGraph's stackcollapse.pl so that `zonescope fold`
// on a DTrace capture prints the same lines it would: leading whitespace dropped, the offset
// removed from the last `+` on (unless offsets are kept), C++ argument lists cut after the
// first `::`, an empty frame shown as `-`, identical stacks merged, lines sorted bytewise.
import { StringDecoder } from 'node:string_decoder';
import type { TraceRecord } from '../../protocol/records.js';
import { isKernelStack } from './dtrace.js';
import { parseBpftraceLine } from './bpftrace.js';

export interface FoldOptions {
  /** keep `+0x1a` / `+26` offsets (stackcollapse.pl strips them) */
  keepOffsets?: boolean;
  /** suffix kernel frames with `_[k]`, FlameGraph's convention for coloring them */
  annotateKernel?: boolean;
}

/** One frame as stackcollapse.pl cleans it; `;` would split the frame, so it becomes `:`. */
export function normalizeFrame(raw: string, keepOffsets = false): string {
  let f = raw.trim();
  if (!keepOffsets) {
    const plus = f.lastIndexOf('+');
    if (plus >= 0) f = f.slice(0, plus);
  }
  const colons = f.indexOf('::');
  if (colons >= 0) {
    const cut = Math.max(f.lastIndexOf('('), f.lastIndexOf('<'));
    if (cut >= colons + 2) f = f.slice(0, cut);
  }
  if (f === '') return '-';
  return f.includes(';') ? f.replaceAll(';', ':') : f;
}

function foldOne(stack: readonly string[], kernel: number, opts: FoldOptions): string {
  const parts: string[] = new Array(stack.length);
  const keep = opts.keepOffsets ?? false;
  for (let i = 0; i < stack.length; i++) {
    const f = normalizeFrame(stack[i], keep);
    // leaf first in the record, root first in the folded line
    parts[stack.length - 1 - i] = opts.annotateKernel && i < kernel ? `${f}_[k]` : f;
  }
  return parts.join(';');
}

/** Sums stack records into folded stacks; other record kinds are ignored. */
export function foldStacks(records: Iterable<TraceRecord>, opts: FoldOptions = {}): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    if (r.kind !== 'stack') continue;
    const k = foldOne(r.stack, r.kernel, opts);
    m.set(k, (m.get(k) ?? 0) + r.value);
  }
  return m;
}

const bytewise = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The folded text, sorted like stackcollapse.pl's output. */
export function formatFolded(m: Map<string, number>): string {
  let out = '';
  for (const k of [...m.keys()].sort(bytewise)) out += `${k} ${m.get(k)}\n`;
  return out;
}

function isDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const HEADER_LINE = /^(?:CPU\s+ID\s+FUNCTION:NAME|\s*\d+\s+\d+\s+\S*:\S*\s*|dtrace: .*|\^C)$/;

/**
 * stackcollapse.pl for DTrace text, one line at a time: frames accumulate until a line of
 * digits (the count). Memory is the map of distinct stacks plus one stack.
 * stackcollapse.pl skips the first 3 lines (the `CPU ID FUNCTION:NAME` header, the probe
 * line and a blank line of a plain `dtrace -o` capture); by default this skips exactly such
 * leading lines instead, so a capture without that header loses no frames. `headerLines`
 * restores the fixed count.
 */
export class DtraceStackFolder {
  readonly stacks = new Map<string, number>();
  private frames: string[] = [];
  private segments: number[] = [];
  private inHeader = true;
  private skip: number;
  private lastBlank = false;
  private keepOffsets: boolean;
  constructor(private opts: FoldOptions & { headerLines?: number } = {}) {
    this.skip = opts.headerLines ?? -1;
    this.keepOffsets = opts.keepOffsets ?? false;
  }

  line(raw: string): void {
    this.span(raw, 0, raw.length);
  }

  /** The line text[from, to) — the caller's buffer, so no string is made per line. */
  span(text: string, from: number, to: number): void {
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end--;
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    if (this.skip < 0 && this.inHeader) {
      const l = text.slice(from, end);
      if (l.trim() === '' || HEADER_LINE.test(l)) return;
      this.inHeader = false;
    }
    let start = from;
    while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
    let stop = end;
    while (stop > start && (text.charCodeAt(stop - 1) === 32 || text.charCodeAt(stop - 1) === 9)) stop--;
    if (start === stop) {
      this.lastBlank = true;
      return;
    }
    if (isDigits(text, start, stop)) {
      this.finish(Number(text.slice(start, stop)));
      return;
    }
    if (this.lastBlank && this.frames.length > 0) this.segments.push(this.frames.length);
    this.lastBlank = false;
    if (!this.keepOffsets) {
      const plus = text.lastIndexOf('+', stop - 1);
      if (plus >= start) stop = plus;
    }
    let f = text.slice(start, stop);
    // the rare frames that need more than the offset cut go through the full rules
    if (f.includes('::') || f.includes(';') || f === '') f = normalizeFrame(f, true);
    this.frames.push(f);
  }

  private finish(count: number): void {
    const f = this.frames;
    let kernel = 0;
    if (this.opts.annotateKernel && f.length) {
      // two stacks in one key (stack(), blank, ustack()): the first is the kernel's
      kernel = this.segments.length > 0 ? this.segments[0] : isKernelStack(f) ? f.length : 0;
    }
    if (kernel) for (let i = 0; i < kernel; i++) f[i] = `${f[i]}_[k]`;
    const key = f.reverse().join(';');
    this.stacks.set(key, (this.stacks.get(key) ?? 0) + count);
    this.frames = [];
    this.segments = [];
    this.lastBlank = false;
  }
}

/** Reads text input line by line without holding more than one partial line. */
async function* lines(input: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  const dec = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of input) {
    const text = rest + (typeof chunk === 'string' ? chunk : dec.write(chunk));
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += dec.end();
  if (rest !== '') yield rest;
}

/**
 * Folds a whole capture (DTrace stack aggregation text, or bpftrace `-f json` lines) into a
 * map of folded stacks. Memory grows with the number of distinct stacks, not the input.
 */
export async function foldInput(
  input: AsyncIterable<string | Buffer>,
  from: 'dtrace' | 'bpftrace',
  opts: FoldOptions & { headerLines?: number } = {},
): Promise<Map<string, number>> {
  if (from === 'dtrace') {
    const folder = new DtraceStackFolder(opts);
    // batch lines per chunk: an await per line would cost more than the folding itself
    const dec = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of input) {
      const text = rest + (typeof chunk === 'string' ? chunk : dec.write(chunk));
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        folder.span(text, start, nl);
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    rest += dec.end();
    if (rest !== '') folder.line(rest);
    return folder.stacks;
  }
  const m = new Map<string, number>();
  let n = 0;
  for await (const line of lines(input)) {
    n++;
    let parsed;
    try {
      parsed = parseBpftraceLine(line);
    } catch (e) {
      throw new Error(`bpftrace input line ${n}: ${(e as Error).message}`);
    }
    for (const [k, v] of foldStacks(parsed.records, opts)) m.set(k, (m.get(k) ?? 0) + v);
  }
  return m;
}

/** `zonescope fold`: the folded, sorted output of a capture, in chunks ready for stdout. */
export async function* foldStream(
  input: AsyncIterable<string | Buffer>,
  from: 'dtrace' | 'bpftrace',
  opts: FoldOptions & { headerLines?: number } = {},
): AsyncGenerator<string> {
  const m = await foldInput(input, from, opts);
  let buf = '';
  for (const k of [...m.keys()].sort(bytewise)) {
    buf += `${k} ${m.get(k)}\n`;
    if (buf.length >= 65536) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}
