// Turns a trace's per-interval records (GET /api/traces/:id/intervals) into heatmap cells.
import type { TraceRecord } from '../../../protocol/records.js';
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

/**
 * Latency heatmap: one column per interval, one row per histogram bucket (all hist records of
 * the interval summed, whatever their keys). Buckets starting at 0 or -Inf cannot sit on a
 * log axis, so they are drawn from half their upper bound; the tooltip says what they are.
 */
export function latencyHeatmap(ivs: readonly Interval[], fmt: (v: number) => string = defaultFmt): HeatmapData & { rowLabels: string[]; aggs: string[] } {
  const sorted = [...ivs].sort((a, b) => a.time - b.time);
  const bounds = new Map<string, [number | null, number | null]>();
  const aggs = new Set<string>();
  for (const iv of sorted)
    for (const r of iv.records)
      if (r.kind === 'hist') {
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
  const counts = new Float64Array(sorted.length * R);
  sorted.forEach((iv, c) => {
    for (const r of iv.records)
      if (r.kind === 'hist') for (const b of r.buckets) counts[c * R + rowOf.get(`${b.lo}|${b.hi}`)!] += b.count;
  });
  const step = intervalStepMs(sorted) / 1000;
  return { times: sorted.map((iv) => iv.time / 1000 - step), step, rows, counts, rowLabels, aggs: [...aggs] };
}

/**
 * Subsecond-offset heatmap (FlameScope): columns are seconds, rows are fractions of a second.
 * Sample offsets come from a scalar aggregation named `subsecond` keyed by the offset within
 * the second in ms (the cpu-profile script's `@subsecond[(nsecs % 1e9) / 1e6 / W * W]`); a
 * trace without it is placed by interval time, which is only as fine as the interval.
 */
export function subsecondHeatmap(ivs: readonly Interval[], rowMs = 20): HeatmapData & { precise: boolean } {
  const rowsN = Math.ceil(1000 / rowMs);
  const rows: [number, number][] = [];
  for (let r = 0; r < rowsN; r++) rows.push([r * rowMs, Math.min(1000, (r + 1) * rowMs)]);
  const sorted = [...ivs].sort((a, b) => a.time - b.time);
  if (!sorted.length) return { times: [], step: 1, rows, counts: new Float64Array(0), precise: false };
  const stepMs = intervalStepMs(sorted);
  // an interval's samples were taken during the interval before its time
  const first = Math.floor((sorted[0].time - stepMs) / 1000);
  const last = Math.floor((sorted[sorted.length - 1].time - 1) / 1000);
  const cols = Math.max(1, last - first + 1);
  const counts = new Float64Array(cols * rowsN);
  let precise = false;
  for (const iv of sorted) {
    const sub = iv.records.filter((r) => r.kind === 'scalar' && r.agg === 'subsecond');
    if (sub.length) {
      precise = true;
      // offsets are within the interval's last second
      const col = Math.min(cols - 1, Math.max(0, Math.floor((iv.time - 1) / 1000) - first));
      for (const r of sub) {
        if (r.kind !== 'scalar') continue;
        const off = Number(r.keys[0]);
        if (!Number.isFinite(off)) continue;
        const row = Math.min(rowsN - 1, Math.max(0, Math.floor(off / rowMs)));
        counts[col * rowsN + row] += r.value;
      }
    } else {
      let n = 0;
      for (const r of iv.records) if (r.kind === 'stack') n += r.value;
      const t = iv.time - 1;
      const col = Math.min(cols - 1, Math.max(0, Math.floor(t / 1000) - first));
      const row = Math.min(rowsN - 1, Math.floor((t % 1000) / rowMs));
      counts[col * rowsN + row] += n;
    }
  }
  const times: number[] = [];
  for (let c = 0; c < cols; c++) times.push(first + c);
  return { times, step: 1, rows, counts, precise };
}

/** The interval times (ms) whose interval overlaps [fromMs, toMs]: what /folded?from=&to= should ask for. */
export function intervalsCovering(ivs: readonly Interval[], fromMs: number, toMs: number): [number, number] | null {
  const stepMs = intervalStepMs(ivs);
  const hit = ivs.filter((iv) => iv.time > fromMs && iv.time - stepMs <= toMs).map((iv) => iv.time);
  return hit.length ? [Math.min(...hit), Math.max(...hit)] : null;
}
