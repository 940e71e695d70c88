// bpftrace's text output (the default `-f text`, what people paste) → TraceRecords. Each
// printed entry maps one to one onto the `-f json` form, so it is rewritten as that JSON and
// read by parseBpftraceLine: keys, stacks and buckets mean the same in both.
//
// The shapes (bpftrace 0.17, seen here):
//   @name: 12 / @name[key1, key2]: 12 / @name[k]: count 2, average 15, total 30
//   @name[                      a key holding a stack: one frame per line, then the rest of
//       vfs_write+709           the key after a comma (or nothing) and the value
//       ksys_write+111
//   , dd]: 3
//   @name[keys]:                a hist/lhist: one row per line, `[lo, hi)`, `[n]`,
//   [2, 4)   36 |@@@@@|         `(..., n)` and `[n, ...)`, hist bounds with K/M/G (×1024)
//   (blank line)
// `-f json` lines ({"type": ...}) may be mixed in, as may stderr lines; JSON pretty-printed
// over several lines is read whole.
import type { TraceEvent, TraceRecord } from '../../protocol/records.js';
import { parseBpftraceLine } from './bpftrace.js';

export interface BpftraceSkipped {
  line: number;
  text: string;
}

export interface BpftraceCapture {
  records: TraceRecord[];
  events: TraceEvent[];
  /** lines that are not map output (banners, stderr, prose) */
  skipped: BpftraceSkipped[];
  errors: { line: number; text: string; message: string }[];
}

const SUFFIX: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };
const BOUND = /^(-?\d+)([KMGTP]?)$/;
const ROW = /^(\[|\()(.+?)(\]|\))\s+(-?\d+)\s*\|/;
const HEAD = /^@([A-Za-z0-9_]*)(?:\[(.*)\])?:\s?(.*)$/s;
const STATS = /^count (-?\d+), average (-?\d+), total (-?\d+)$/;

function bound(s: string): number | null {
  const m = BOUND.exec(s.trim());
  return m ? Number(m[1]) * SUFFIX[m[2]] : null;
}

/** A text row → the JSON bucket: inclusive min and max, absent at an open end. */
function bucket(row: RegExpExecArray): { min?: number; max?: number; count: number } | null {
  const inner = row[2];
  const count = Number(row[4]);
  if (inner.startsWith('..., ')) {
    const hi = bound(inner.slice(5));
    return hi === null ? null : { max: hi - 1, count };
  }
  if (inner.endsWith(', ...')) {
    const lo = bound(inner.slice(0, -5));
    return lo === null ? null : { min: lo, count };
  }
  const parts = inner.split(',').map(bound);
  if (parts.some((p) => p === null) || parts.length > 2) return null;
  const [lo, hi] = parts as number[];
  return parts.length === 1 ? { min: lo, max: lo, count } : { min: lo, max: hi - 1, count };
}

/** The key between `[` and `]` as bpftrace's JSON writes it: fields joined by a bare comma. */
const jsonKey = (text: string) => text.replace(/, /g, ',');

/** Reads a whole capture. */
export function parseBpftraceCapture(text: string): BpftraceCapture {
  const out: BpftraceCapture = { records: [], events: [], skipped: [], errors: [] };
  const lines = text.split(/\r?\n/);
  const take = (json: unknown, at: number, raw: string) => {
    try {
      const r = parseBpftraceLine(JSON.stringify(json));
      out.records.push(...r.records);
      out.events.push(...r.events);
    } catch (e) {
      out.errors.push({ line: at, text: raw, message: (e as Error).message });
    }
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const t = line.trim();
    const no = i + 1;
    i++;
    if (t === '') continue;
    if (t.startsWith('{')) {
      // one JSON object, possibly pretty-printed over several lines
      let json = line;
      let j = i;
      let parsed: unknown;
      for (;;) {
        try {
          parsed = JSON.parse(json);
          break;
        } catch {
          if (j >= lines.length || j - i > 100_000) break;
          json += '\n' + lines[j++];
        }
      }
      if (parsed === undefined) {
        out.errors.push({ line: no, text: line, message: 'not a JSON object' });
        continue;
      }
      i = j;
      take(parsed, no, line);
      continue;
    }
    if (!t.startsWith('@')) {
      out.skipped.push({ line: no, text: line });
      continue;
    }
    // an entry whose key holds a stack goes on until the line with `]:`
    let entry = line;
    if (/^@[A-Za-z0-9_]*\[/.test(t) && !/\]:/.test(t)) {
      let j = i;
      while (j < lines.length && !/\]:/.test(lines[j]) && lines[j].trim() !== '' && !lines[j].startsWith('@')) j++;
      if (j >= lines.length || !/\]:/.test(lines[j])) {
        out.errors.push({ line: no, text: line, message: 'a key with no `]:` after it' });
        continue;
      }
      entry = lines.slice(i - 1, j + 1).join('\n');
      i = j + 1;
    }
    const head = HEAD.exec(entry.trimEnd());
    if (!head) {
      out.skipped.push({ line: no, text: line });
      continue;
    }
    const [, agg, key, rest] = head;
    const name = `@${agg}`;
    const wrap = (v: unknown) => (key === undefined ? { [name]: v } : { [name]: { [jsonKey(key)]: v } });
    if (rest.trim() === '') {
      // a histogram: its rows follow up to a blank line
      const buckets: ReturnType<typeof bucket>[] = [];
      while (i < lines.length && lines[i].trim() !== '') {
        const row = ROW.exec(lines[i].trim());
        const b = row && bucket(row);
        if (b) buckets.push(b);
        else out.errors.push({ line: i + 1, text: lines[i], message: 'not a histogram row' });
        i++;
      }
      if (buckets.length) take({ type: 'hist', data: wrap(buckets) }, no, line);
      continue;
    }
    const stats = STATS.exec(rest.trim());
    if (stats) {
      take({ type: 'stats', data: wrap({ count: Number(stats[1]), average: Number(stats[2]), total: Number(stats[3]) }) }, no, line);
      continue;
    }
    const v = rest.trim();
    take({ type: 'map', data: wrap(/^-?\d+$/.test(v) ? Number(v) : v) }, no, line);
  }
  return out;
}

/** The records of a text capture (what `parseBpftraceText` always returned). */
export const parseBpftraceText = (text: string): TraceRecord[] => parseBpftraceCapture(text).records;
