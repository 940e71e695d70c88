// Tool text → folded lines (`zonescope fold`): for a DTrace capture it prints what FlameGraph's
// stackcollapse.pl prints (the format and frame clean-up are protocol/folded.ts).
import { StringDecoder } from 'node:string_decoder';
import type { TraceRecord } from '../../protocol/records.js';
import { bytewise, foldStacks, inlined, normalizeFrame, type FoldOptions } from '../../protocol/folded.js';
import { isKernelStack } from './dtrace.js';
import { parseBpftraceLine } from './bpftrace.js';
import { addCounts, toCount, type Count } from './exact.js';

/** a probe line (CPU, ID, FUNCTION:NAME and what trace() printed), when not quiet */
const PROBE_LINE = /^\d+\s+\d+\s+\S*:\S*(\s.*)?$/;
/** bytes a line that is no stack output can start with (after its indentation) */
const NOISY = new Uint8Array(256);
for (const ch of '#$%>[^dC.') NOISY[ch.charCodeAt(0)] = 1;
NOISY[0xe2] = 1; // … (U+2026)
const SPACE = 32;
const TAB = 9;
const CR = 13;
const NL = 10;
const PLUS = 43;
const SEMI = 59;
const FNV_SEED = 0x811c9dc5;
const NONE = 0x7fffffff;
/** no DTrace frame comes near this; a longer line means the input is something else */
const MAX_LINE = 1 << 20;

/**
 * Whether the line at buf[s] (its first byte after indentation is in NOISY) is no stack
 * output: a `dtrace:` message, `^C`, the probe header, a shell prompt, an elision.
 */
function isNoise(buf: Buffer, s: number): boolean {
  const c = buf[s];
  if (c === 100) return buf.toString('latin1', s, s + 8) === 'dtrace: ';
  if (c === 46 && (buf[s + 1] !== 46 || buf[s + 2] !== 46)) return false; // .node.bin`…
  if (c === 67 && buf.toString('latin1', s, s + 4) !== 'CPU ') return false;
  let e = buf.indexOf(NL, s);
  while (e > s && (buf[e - 1] === CR || buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
  const t = buf.toString('utf8', s, e);
  return (
    t === '^C' ||
    /^CPU\s+ID\s+FUNCTION:NAME$/.test(t) ||
    /^(\.\.\.|\[\.\.\.\]|\u2026|\[\u2026\])$/.test(t) ||
    /^(\[[^\]]*\])?[#$%>](\s|$)/.test(t)
  );
}

/** One distinct stack: its frames as bytes (cleaned, leaf first, '\n' between them). */
interface Entry {
  bytes: Buffer;
  /** frames before the first blank line inside the record (stack() before ustack()), or -1 */
  seg0: number;
  count: Count;
  next: Entry | null;
}

/**
 * stackcollapse.pl for DTrace text: frames accumulate until a line of digits (the count).
 * Memory is the table of distinct stacks plus one stack.
 *
 * It works on the input bytes and makes no string per line or per frame: each cleaned frame
 * is copied into one scratch buffer while a hash of the stack is kept, and the count line
 * looks the stack up by that hash (checked byte for byte, so a collision never merges two
 * stacks). Strings are made once per distinct stack, at the end.
 *
 * stackcollapse.pl skips the first 3 lines (the `CPU ID FUNCTION:NAME` header, the probe
 * line and a blank line of a plain `dtrace -o` capture) and takes every other line as a frame
 * or a count. This skips the lines that are no stack output wherever they are — `dtrace:`
 * messages, the probe header and probe lines, `^C`, shell prompts, `...` elisions — and
 * nothing else, so a capture without that header loses no frame and a pasted one gains none.
 * `headerLines` restores the fixed count. A line of digits is a count, except where it can
 * only be a frame (an unresolved PC such as `8394670`; see isCount).
 */
export class DtraceStackFolder {
  private table = new Map<number, Entry>();
  private scratch: Buffer = Buffer.allocUnsafe(1 << 16);
  /** the start of a line the previous chunk did not finish */
  private carry: Buffer | null = null;
  private keepOffsets: boolean;
  private skip: number;
  // the stack being read: its bytes in scratch, their hash, frames so far, and where the
  // second stack of the key (after a blank line) starts
  private pos = 0;
  private h = FNV_SEED;
  private frames = 0;
  private seg0 = -1;
  private lastBlank = false;
  /** where the current stack's frames start (columns), -1 before its first frame */
  private frameIndent = -1;

  constructor(private opts: FoldOptions & { headerLines?: number } = {}) {
    this.skip = opts.headerLines ?? 0;
    this.keepOffsets = opts.keepOffsets ?? false;
  }

  /** Feeds the next bytes of the capture. */
  push(chunk: Buffer): void {
    let i = 0;
    if (this.carry) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        if (this.carry.length > MAX_LINE) throw new Error('dtrace input: a line longer than 1 MiB; is this DTrace stack output?');
        return;
      }
      const line = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.lines(line, 0, line.length);
      i = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= i) this.lines(chunk, i, last + 1);
    const rest = Math.max(i, last + 1);
    // copied: the caller may reuse its buffer
    if (rest < chunk.length) {
      if (chunk.length - rest > MAX_LINE) throw new Error('dtrace input: a line longer than 1 MiB; is this DTrace stack output?');
      this.carry = Buffer.from(chunk.subarray(rest));
    }
  }

  /** The end of the capture: a last line without a newline still counts. */
  close(): void {
    if (!this.carry) return;
    const line = Buffer.concat([this.carry, Buffer.from([NL])]);
    this.carry = null;
    this.lines(line, 0, line.length);
  }

  /** buf[from, to) holds whole lines (buf[to - 1] is a newline). */
  private lines(buf: Buffer, from: number, to: number): void {
    let i = from;
    while (i < to && this.skip > 0) {
      this.skip--;
      i = buf.indexOf(NL, i) + 1;
    }
    // where the next ';' and '::' are: frames holding them need the full rules, and they
    // are rare, so they are looked up once per occurrence rather than per frame
    let semi = -1;
    let dcolon = -1;
    let arrow = -1;
    let frameIndent = this.frameIndent;
    let sc = this.scratch;
    let pos = this.pos;
    let h = this.h;
    let frames = this.frames;
    let seg0 = this.seg0;
    let lastBlank = this.lastBlank;
    const keep = this.keepOffsets;
    while (i < to) {
      // buf[to - 1] is a newline, so every loop below stops by itself
      let s = i;
      let c = buf[s];
      while (c === SPACE || c === TAB) c = buf[++s];
      const indent = s - i;
      if (NOISY[c] === 1 && isNoise(buf, s)) {
        i = buf.indexOf(NL, s) + 1;
        continue;
      }
      // copy the rest of the line to scratch while looking for its end and its last '+'
      const lineStart = pos;
      if (frames > 0) sc[pos++] = NL;
      const at = pos;
      let plus = -1;
      let k = s;
      for (;;) {
        let lim = k + (sc.length - pos);
        if (lim > to) lim = to;
        for (; k < lim; k++) {
          c = buf[k];
          if (c === NL) break;
          if (c === PLUS) plus = pos;
          sc[pos++] = c;
        }
        if (k < lim) break;
        sc = this.grow(pos, pos + 256);
      }
      i = k + 1;
      let e = pos;
      if (e > at && sc[e - 1] === CR) e--;
      while (e > at && (sc[e - 1] === SPACE || sc[e - 1] === TAB)) e--;
      if (e === at) {
        pos = lineStart;
        lastBlank = true;
        continue;
      }
      c = sc[at];
      if (c >= 48 && c <= 57) {
        let d = at + 1;
        let v = c - 48;
        while (d < e && (c = sc[d]) >= 48 && c <= 57) {
          v = v * 10 + c - 48;
          d++;
        }
        // a count is ` %16lld` after the frames: right-aligned 3 columns past where they
        // start; digits at the frames' own indentation ending elsewhere are a PC
        if (d === e && (frames === 0 || indent !== frameIndent || indent + (e - at) === frameIndent + 3)) {
          this.add(lineStart, h, seg0, e - at > 15 ? toCount(sc.toString('latin1', at, e)) : v);
          pos = 0;
          h = FNV_SEED;
          frames = 0;
          seg0 = -1;
          frameIndent = -1;
          lastBlank = false;
          continue;
        }
        if (d < e && PROBE_LINE.test(sc.toString('latin1', at, e))) {
          pos = lineStart;
          continue;
        }
      }
      if (frames === 0) frameIndent = indent;
      if (lastBlank && frames > 0 && seg0 < 0) seg0 = frames;
      lastBlank = false;
      pos = keep || plus < 0 ? e : plus;
      const stop = s + (pos - at); // the frame's end in buf
      if (semi < s && semi !== NONE) {
        const x = buf.indexOf(SEMI, s);
        semi = x < 0 ? NONE : x;
      }
      if (dcolon < s && dcolon !== NONE) {
        const x = buf.indexOf('::', s, 'latin1');
        dcolon = x < 0 ? NONE : x;
      }
      if (arrow < s && arrow !== NONE) {
        const x = buf.indexOf('->', s, 'latin1');
        arrow = x < 0 ? NONE : x;
      }
      if (semi < stop || dcolon + 1 < stop || arrow + 1 < stop || pos === at || c === 76) {
        // the rare frames that need more than the offset cut go through the full rules
        // (as UTF-8: a byte of a multi-byte character must not pass for a Unicode blank);
        // a JVM frame with inlined callees becomes several frames, stored leaf first
        const parts = inlined(normalizeFrame(sc.toString('utf8', at, pos), true));
        const f = Buffer.from(parts.reverse().join('\n'));
        frames += parts.length - 1;
        pos = at;
        if (pos + f.length > sc.length) sc = this.grow(pos, pos + f.length);
        for (let x = 0; x < f.length; x++) sc[pos++] = f[x];
      }
      // the hash only samples the frame (its length, ends and middle): enough to spread
      // distinct stacks, and the byte check on lookup settles the rest
      const n = pos - at;
      h = Math.imul(h ^ n, 16777619);
      h = Math.imul(h ^ sc[pos - 1], 16777619);
      h = Math.imul(h ^ sc[pos - 2], 16777619);
      h = Math.imul(h ^ sc[at + (n >> 1)], 16777619);
      h = Math.imul(h ^ sc[at + (n >> 2)], 16777619);
      h = Math.imul(h ^ sc[pos - 1 - (n >> 2)], 16777619);
      frames++;
    }
    this.pos = pos;
    this.h = h;
    this.frames = frames;
    this.seg0 = seg0;
    this.lastBlank = lastBlank;
    this.frameIndent = frameIndent;
  }

  private grow(used: number, need: number): Buffer {
    const bigger = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2));
    this.scratch.copy(bigger, 0, 0, used);
    this.scratch = bigger;
    return bigger;
  }

  /** A stack's count: the stack is scratch[0, len), h its hash. */
  private add(len: number, h: number, seg0: number, count: Count): void {
    h = Math.imul(h ^ (seg0 + 1), 16777619) >>> 0;
    const sc = this.scratch;
    let e = this.table.get(h) ?? null;
    const head = e;
    while (e && !(e.seg0 === seg0 && e.bytes.length === len && sc.compare(e.bytes, 0, len, 0, len) === 0)) e = e.next;
    // counts stay exact past 2^53 (bigints then)
    if (e) e.count = addCounts(e.count, count);
    else this.table.set(h, { bytes: Buffer.from(sc.subarray(0, len)), seg0, count, next: head });
  }

  /** The folded stacks (root first, `;`-joined) and their summed counts. */
  stacks(): Map<string, Count> {
    const m = new Map<string, Count>();
    for (const first of this.table.values()) {
      for (let e: Entry | null = first; e; e = e.next) {
        // the bytes are the input's; read them back as the UTF-8 text they are
        const f = e.bytes.length === 0 ? [] : e.bytes.toString('utf8').split('\n');
        let kernel = 0;
        if (this.opts.annotateKernel && f.length) {
          // two stacks in one key (stack(), blank, ustack()): the first is the kernel's
          kernel = e.seg0 >= 0 ? e.seg0 : isKernelStack(f) ? f.length : 0;
        }
        for (let i = 0; i < kernel; i++) f[i] = `${f[i]}_[k]`;
        const key = f.reverse().join(';');
        m.set(key, addCounts(m.get(key) ?? 0, e.count));
      }
    }
    return m;
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
): Promise<Map<string, Count>> {
  if (from === 'dtrace') {
    const folder = new DtraceStackFolder(opts);
    for await (const chunk of input) folder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    folder.close();
    return folder.stacks();
  }
  const m = new Map<string, Count>();
  let n = 0;
  for await (const line of lines(input)) {
    n++;
    let parsed;
    try {
      parsed = parseBpftraceLine(line);
    } catch (e) {
      throw new Error(`bpftrace input line ${n}: ${(e as Error).message}`);
    }
    for (const [k, v] of foldStacks(parsed.records, opts)) m.set(k, addCounts(m.get(k) ?? 0, v));
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
