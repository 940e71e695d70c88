// A node's zone history, compact: each series (family and labels) is named once per node, and
// a frame is its time and two typed arrays (series ids, values). Consecutive frames nearly
// always name the same series in the same order, so they share one ids array: a point then
// costs its 8-byte value, instead of a JS object with its own label object.
import type { Point } from '../protocol/messages.js';
import { labelString } from '../protocol/exposition.js';

/** The string table's copy of `s`: flat, and shared by every node naming the same series or
 * zone (a template literal is a rope, and each frame's JSON.parse makes its own copies). */
const intern = (s: string): string => Object.keys({ [s]: 0 })[0];

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
  /** zone → series key → id: the keys are the interned `key`s, shared across zones and nodes,
   * so a node's index costs a map per zone rather than a string per series */
  private readonly index = new Map<string, Map<string, number>>();
  /** points held in all frames */
  points = 0;
  /** bumped when the series are numbered afresh: ids of older frames then mean other series */
  generation = 0;
  /** frames added since the store last took them (server/history-store.ts) */
  private unstored: HistoryFrame[] = [];

  get length(): number {
    return this.frames.length;
  }

  /** Keeps the frame's zone points, in time order (a resent backlog can come after newer
   * frames); returns how many. */
  add(seq: number, time: number, points: readonly Point[]): number {
    const ids: number[] = [];
    const values: number[] = [];
    for (const p of points) {
      const zone = p.l.zone;
      if (zone === undefined || !Number.isFinite(p.v)) continue;
      const { zone: _z, alias: _a, ...rest } = p.l;
      ids.push(this.idOf(p.f, zone, `${p.f}{${labelString(rest)}}`));
      values.push(p.v);
    }
    const frame = this.insert(seq, time, ids, Float64Array.from(values));
    this.unstored.push(frame);
    // the store is failing (a full disk): what left the history need not wait for it
    if (this.unstored.length > 2 * this.frames.length + 16) this.unstored = this.held(this.unstored);
    return ids.length;
  }

  /** A frame read back from the store, its ids already this history's (see idOf). */
  restore(seq: number, time: number, ids: Uint32Array, values: Float64Array): number {
    this.insert(seq, time, ids, values);
    return ids.length;
  }

  /** Frames added since the last call and still held, oldest first, for the store to write.
   * One that left meanwhile (retention, the budget) is not written: a restart would not bring it
   * back, and its ids may predate a renumbering the next chunk's dictionary follows. */
  takeUnstored(): HistoryFrame[] {
    const out = this.held(this.unstored);
    this.unstored = [];
    return out;
  }

  /** Frames handed out by takeUnstored that could not be written: taken again next time. */
  giveBack(frames: HistoryFrame[]): void {
    this.unstored = [...frames, ...this.unstored];
  }

  private held(frames: HistoryFrame[]): HistoryFrame[] {
    const live = new Set(this.frames);
    return frames.filter((f) => live.has(f));
  }

  /** The id of a series, named now if it is new. */
  idOf(f: string, zone: string, key: string): number {
    return this.index.get(zone)?.get(key) ?? this.name(f, zone, key);
  }

  private insert(seq: number, time: number, ids: ArrayLike<number>, values: Float64Array): HistoryFrame {
    let at = this.frames.length;
    while (at > 0 && this.frames[at - 1].time > time) at--;
    const near = this.frames[at - 1] ?? this.frames[at];
    const shared = near && near.ids.length === ids.length && Array.prototype.every.call(ids, (id: number, i: number) => near.ids[i] === id);
    const frame = { seq, time, ids: shared ? near.ids : ids instanceof Uint32Array ? ids : Uint32Array.from(ids), values };
    if (at === this.frames.length) this.frames.push(frame);
    else this.frames.splice(at, 0, frame);
    this.points += ids.length;
    return frame;
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
    this.unstored = [];
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

  private name(f: string, zone: string, key: string): number {
    const id = this.series.length;
    const s = { f: intern(f), zone: intern(zone), key: intern(key) };
    this.series.push(s);
    let byKey = this.index.get(s.zone);
    if (!byKey) this.index.set(s.zone, (byKey = new Map()));
    byKey.set(s.key, id);
    return id;
  }

  /** Series named in some frame. Asked at every shift once a node has over 1,024 series (30
   * zones do), so each shared ids array is read once, not once per frame. */
  private distinct(): number {
    const used = new Set<number>();
    let last: Uint32Array | undefined;
    for (const f of this.frames) {
      if (f.ids === last) continue;
      last = f.ids;
      for (const id of f.ids) used.add(id);
    }
    return used.size;
  }

  private renumber(): void {
    this.generation++;
    const old = this.series.splice(0);
    this.index.clear();
    const map = new Map<number, number>();
    const done = new Set<Uint32Array>(); // frames share ids arrays: each is renumbered once
    for (const f of this.frames) {
      if (done.has(f.ids)) continue;
      done.add(f.ids);
      for (let i = 0; i < f.ids.length; i++) {
        let id = map.get(f.ids[i]);
        if (id === undefined) {
          const s = old[f.ids[i]];
          map.set(f.ids[i], (id = this.name(s.f, s.zone, s.key)));
        }
        f.ids[i] = id;
      }
    }
  }
}
