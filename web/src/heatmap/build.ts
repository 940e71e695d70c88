// Turns a trace's per-interval records (GET /api/traces/:id/intervals) into heatmap cells.
import { SLICE_MS, type TraceRecord } from '../../../protocol/records.js';
import { defaultFmt, type HeatmapData } from './heatmap.js';

export interface Interval {
  interval: number;
  /** ms */
  time: number;
  records: TraceRecord[];
}

/** Typical spacing of interval times, in ms (the trace's reporting interval). */
export function intervalStepMs(ivs: readonly Interval[]): number {
  const d: number[] = [];
  for (let i = 1; i < ivs.length; i++) d.push(ivs[i].time - ivs[i - 1].time);
  d.sort((a, b) => a - b);
  return d.length ? Math.max(1, d[Math.floor(d.length / 2)]) : 1000;
}

/** What a histogram record is keyed by, as the UI names it ("read", "sda"); "" for unkeyed. */
export const histKey = (r: TraceRecord): string => (r.kind === 'hist' ? r.keys.join(', ') : '');

/** The keys of a trace's histograms (system calls, devices), most events first. */
export function histKeys(ivs: readonly Interval[]): { key: string; count: number }[] {
  const m = new Map<string, number>();
  for (const iv of ivs)
    for (const r of iv.records) if (r.kind === 'hist') m.set(histKey(r), (m.get(histKey(r)) ?? 0) + r.buckets.reduce((a, b) => a + b.count, 0));
  return [...m].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
}

/**
 * Latency heatmap: one column per interval on a regular grid, placed by the interval's number
 * (an interval that arrived late sits in its own slot, not next to or over its neighbour; a
 * number that never came stays an empty column), one row per histogram bucket, the hist records of the interval
 * summed — all of them, or those of one key (`only`: a system call, a device). Buckets
 * starting at 0 or -Inf cannot sit on a log axis, so they are drawn from half their upper
 * bound; the tooltip says what they are.
 */
export function latencyHeatmap(ivs: readonly Interval[], fmt: (v: number) => string = defaultFmt, only?: string): HeatmapData & { rowLabels: string[]; aggs: string[] } {
  const sorted = [...ivs].sort((a, b) => a.time - b.time);
  const mine = (r: TraceRecord): boolean => r.kind === 'hist' && (only === undefined || histKey(r) === only);
  const bounds = new Map<string, [number | null, number | null]>();
  const aggs = new Set<string>();
  for (const iv of sorted)
    for (const r of iv.records)
      if (r.kind === 'hist' && mine(r)) {
        aggs.add(r.agg);
        for (const b of r.buckets) bounds.set(`${b.lo}|${b.hi}`, [b.lo, b.hi]);
      }
  const keys = [...bounds.entries()].sort((a, b) => (a[1][0] ?? -Infinity) - (b[1][0] ?? -Infinity));
  const rowOf = new Map(keys.map(([k], i) => [k, i]));
  const rows: [number, number][] = keys.map(([, [lo, hi]]) => {
    const h = hi ?? (lo !== null && lo > 0 ? lo * 2 : 1);
    const l = lo !== null && lo > 0 ? lo : h / 2;
    return [l, h];
  });
  // only rows drawn with other bounds than their real ones need their own label
  const rowLabels = keys.map(([, [lo, hi]]) =>
    lo !== null && lo > 0 && hi !== null ? '' : `${lo === null ? '-∞' : fmt(lo)} – ${hi === null ? '∞' : fmt(hi)}`,
  );
  const R = rows.length;
  // intervals are numbered: the number is the slot, whatever time it arrived; the step is the
  // time per number over the whole trace (one late arrival does not change it)
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const span = last && last.interval > first.interval ? (last.time - first.time) / (last.interval - first.interval) : 0;
  const stepMs = span > 0 ? Math.round(span) : intervalStepMs(sorted);
  // an interval's events happened during the interval before its time: its slot ends at it
  const t0 = first ? first.time - stepMs : 0;
  // (bounded: a trace has at most an hour of 1 s intervals; a wild number must not allocate more)
  const MAX_COLS = 20_000;
  const slot = (iv: Interval): number => Math.min(MAX_COLS - 1, Math.max(0, iv.interval - first.interval));
  const cols = sorted.length ? slot(last) + 1 : 0;
  const counts = new Float64Array(cols * R);
  for (const iv of sorted) {
    const c = slot(iv);
    for (const r of iv.records)
      if (r.kind === 'hist' && mine(r)) for (const b of r.buckets) counts[c * R + rowOf.get(`${b.lo}|${b.hi}`)!] += b.count;
  }
  const times: number[] = [];
  for (let c = 0; c < cols; c++) times.push((t0 + c * stepMs) / 1000);
  return { times, step: stepMs / 1000, rows, counts, rowLabels, aggs: [...aggs] };
}

/** Per key: events and the p50/p90/p99 upper bounds (the bucket reaching that share), from merged records. */
export function percentilesByKey(records: readonly TraceRecord[]): { key: string; count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null }[] {
  const by = new Map<string, Map<string, { lo: number | null; hi: number | null; count: number }>>();
  for (const r of records) {
    if (r.kind !== 'hist') continue;
    const k = histKey(r);
    let m = by.get(k);
    if (!m) by.set(k, (m = new Map()));
    for (const b of r.buckets) {
      const id = `${b.lo}|${b.hi}`;
      const had = m.get(id);
      if (had) had.count += b.count;
      else m.set(id, { lo: b.lo, hi: b.hi, count: b.count });
    }
  }
  const out = [];
  for (const [key, m] of by) {
    const bs = [...m.values()].filter((b) => b.count > 0).sort((a, b) => (a.lo ?? -Infinity) - (b.lo ?? -Infinity));
    const count = bs.reduce((a, b) => a + b.count, 0);
    const at = (p: number): number | null => {
      let acc = 0;
      // the bucket's upper bound; null past the top bucket (an open one)
      for (const b of bs) if ((acc += b.count) >= p * count) return b.hi;
      return null;
    };
    const last = bs[bs.length - 1];
    out.push({ key, count, p50: count ? at(0.5) : null, p90: count ? at(0.9) : null, p99: count ? at(0.99) : null, max: last ? (last.hi ?? last.lo) : null });
  }
  return out.sort((a, b) => b.count - a.count);
}

/**
 * Subsecond-offset heatmap (FlameScope): columns are seconds, rows are 20 ms slices of the
 * second. Cells count the samples of stack records' `slices` (when each sample fell), the very
 * samples the flame graph of a selection is drawn from. A trace whose stacks carry no slices
 * is placed by interval time, which is only as fine as the interval (`precise` false).
 */
export function subsecondHeatmap(ivs: readonly Interval[], rowMs = SLICE_MS): HeatmapData & { precise: boolean } {
  const rowsN = Math.ceil(1000 / rowMs);
  const rows: [number, number][] = [];
  for (let r = 0; r < rowsN; r++) rows.push([r * rowMs, Math.min(1000, (r + 1) * rowMs)]);
  // (ms, samples): a slice's start, or the instant before an interval without slices was sent
  const points: [number, number][] = [];
  let precise = false;
  for (const iv of ivs) {
    let whole = 0;
    for (const r of iv.records) {
      if (r.kind !== 'stack') continue;
      if (r.slices?.length) {
        precise = true;
        for (const p of r.slices) points.push(p);
      } else whole += r.value;
    }
    if (whole) points.push([iv.time - 1, whole]);
  }
  if (!points.length) return { times: [], step: 1, rows, counts: new Float64Array(0), precise };
  let first = Infinity;
  let last = -Infinity;
  for (const [ms] of points) {
    first = Math.min(first, Math.floor(ms / 1000));
    last = Math.max(last, Math.floor(ms / 1000));
  }
  // (bounded: a wild time must not allocate a year of columns)
  const cols = Math.min(20_000, last - first + 1);
  const counts = new Float64Array(cols * rowsN);
  for (const [ms, n] of points) {
    const col = Math.min(cols - 1, Math.floor(ms / 1000) - first);
    counts[col * rowsN + Math.floor((ms % 1000) / rowMs)] += n;
  }
  const times: number[] = [];
  for (let c = 0; c < cols; c++) times.push(first + c);
  return { times, step: 1, rows, counts, precise };
}

/**
 * What a drag from `fromMs` to `toMs` selected: every cell from the one holding `fromMs` to the
 * one holding `toMs`, in time order (FlameScope's selection), as the range [from, to] of their
 * slices' starts (what /folded?from=&to= cuts stacks to), how many slices that spans and the
 * samples of those cells.
 */
export function selectCells(d: HeatmapData, fromMs: number, toMs: number): { from: number; to: number; slices: number; samples: number } {
  const rowMs = d.rows.length ? d.rows[0][1] - d.rows[0][0] : SLICE_MS;
  const from = Math.floor(fromMs / rowMs) * rowMs;
  const to = Math.floor(toMs / rowMs) * rowMs + rowMs - 1;
  const R = d.rows.length;
  let samples = 0;
  d.times.forEach((t, c) => {
    for (let r = 0; r < R; r++) {
      const start = t * 1000 + d.rows[r][0];
      if (start >= from && start <= to) samples += d.counts[c * R + r];
    }
  });
  return { from, to, slices: (to + 1 - from) / rowMs, samples };
}

/** The interval times (ms) whose interval overlaps [fromMs, toMs]: what /folded?from=&to= should ask for. */
export function intervalsCovering(ivs: readonly Interval[], fromMs: number, toMs: number): [number, number] | null {
  const stepMs = intervalStepMs(ivs);
  const hit = ivs.filter((iv) => iv.time > fromMs && iv.time - stepMs <= toMs).map((iv) => iv.time);
  return hit.length ? [Math.min(...hit), Math.max(...hit)] : null;
}
