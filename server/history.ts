// A node's zone history, compact: each series (family and labels) is named once per node, and
// a frame is its time and two typed arrays (series ids, values). A point then costs 12 bytes
// (≈16 measured with frame overhead) instead of a JS object with its own label object.
import type { Point } from '../protocol/messages.js';
import { labelString } from '../protocol/exposition.js';

export interface HistorySeries {
  f: string;
  zone: string;
  /** `family{labels}` without zone and alias: what the zone view calls the series */
  key: string;
}

export interface HistoryFrame {
  seq: number;
  time: number;
  ids: Uint32Array;
  values: Float64Array;
}

export class NodeHistory {
  readonly series: HistorySeries[] = [];
  readonly frames: HistoryFrame[] = [];
  private readonly index = new Map<string, number>();
  /** points held in all frames */
  points = 0;

  get length(): number {
    return this.frames.length;
  }

  /** Keeps the frame's zone points; returns how many. */
  add(seq: number, time: number, points: readonly Point[]): number {
    const ids: number[] = [];
    const values: number[] = [];
    for (const p of points) {
      const zone = p.l.zone;
      if (zone === undefined || !Number.isFinite(p.v)) continue;
      const label = labelString(p.l);
      const id = this.index.get(`${p.f}{${label}}`) ?? this.name(p, zone, label);
      ids.push(id);
      values.push(p.v);
    }
    this.frames.push({ seq, time, ids: Uint32Array.from(ids), values: Float64Array.from(values) });
    this.points += ids.length;
    return ids.length;
  }

  /** Drops the oldest frame; returns how many points went with it. */
  shift(): number {
    const f = this.frames.shift();
    if (!f) return 0;
    this.points -= f.ids.length;
    // zones come and go: once most named series are no longer in any frame, name them afresh
    if (this.series.length > 1024 && this.series.length > 4 * this.distinct()) this.renumber();
    return f.ids.length;
  }

  clear(): number {
    const n = this.points;
    this.frames.length = 0;
    this.series.length = 0;
    this.index.clear();
    this.points = 0;
    return n;
  }

  /** The family `f` of `zone` in one frame, summed over its other labels; undefined when absent. */
  total(frame: HistoryFrame, zone: string, f: string): number | undefined {
    let sum: number | undefined;
    for (let i = 0; i < frame.ids.length; i++) {
      const s = this.series[frame.ids[i]];
      if (s.f === f && s.zone === zone) sum = (sum ?? 0) + frame.values[i];
    }
    return sum;
  }

  /** The zone's series since `since` as columns (one array per series), as uPlot draws them. */
  columns(zone: string, since: number): { times: number[]; series: Record<string, (number | null)[]> } {
    const frames = this.frames.filter((f) => f.time >= since);
    const series: Record<string, (number | null)[]> = {};
    frames.forEach((f, i) => {
      for (let j = 0; j < f.ids.length; j++) {
        const s = this.series[f.ids[j]];
        if (s.zone !== zone) continue;
        (series[s.key] ??= new Array(frames.length).fill(null))[i] = f.values[j];
      }
    });
    return { times: frames.map((f) => f.time), series };
  }

  private name(p: Point, zone: string, label: string): number {
    const { zone: _z, alias: _a, ...rest } = p.l;
    const id = this.series.length;
    this.series.push({ f: p.f, zone, key: `${p.f}{${labelString(rest)}}` });
    this.index.set(`${p.f}{${label}}`, id);
    return id;
  }

  private distinct(): number {
    const used = new Set<number>();
    for (const f of this.frames) for (const id of f.ids) used.add(id);
    return used.size;
  }

  private renumber(): void {
    const map = new Map<number, number>();
    const old = this.series.splice(0);
    const oldIndex = [...this.index];
    this.index.clear();
    for (const f of this.frames) {
      for (let i = 0; i < f.ids.length; i++) {
        let id = map.get(f.ids[i]);
        if (id === undefined) {
          map.set(f.ids[i], (id = this.series.length));
          this.series.push(old[f.ids[i]]);
        }
        f.ids[i] = id;
      }
    }
    for (const [k, id] of oldIndex) {
      const now = map.get(id);
      if (now !== undefined) this.index.set(k, now);
    }
  }
}
