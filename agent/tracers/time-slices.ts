// Samples keyed by time. A script that keys its stack map by the sample's time slice
// (`nsecs / 20000000` in bpftrace, `timestamp / 20000000` in DTrace: the monotonic clock in
// SLICE_MS units) prints one row per stack and slice; here the rows of one stack become one
// record whose `slices` say when its samples fell, in epoch ms. The subsecond heatmap and the
// flame graph of a selection are then drawn from the same samples, as FlameScope does.
import { MAX_SLICES, SLICE_MS, recordKey, type StackRecord, type TraceRecord } from '../../protocol/records.js';

/**
 * `epochOffsetMs`: what to add to a monotonic time in ms to get epoch ms (the tracers' clocks
 * and Node's hrtime are the same monotonic clock, on Linux and illumos). Records that are not
 * stacks, or whose last key is not a slice number, pass through.
 */
export function timeSlices(records: TraceRecord[], epochOffsetMs: number): TraceRecord[] {
  const out: TraceRecord[] = [];
  const by = new Map<string, { rec: StackRecord; at: Map<number, number> }>();
  for (const r of records) {
    const slice = r.kind === 'stack' ? r.keys[r.keys.length - 1] : undefined;
    if (r.kind !== 'stack' || typeof slice !== 'number' || !Number.isSafeInteger(slice) || slice < 0) {
      out.push(r);
      continue;
    }
    const rec: StackRecord = { ...r, keys: r.keys.slice(0, -1), value: 0 };
    const id = recordKey(rec);
    let g = by.get(id);
    if (!g) {
      g = { rec, at: new Map() };
      by.set(id, g);
      out.push(g.rec);
    }
    const ms = Math.round(slice * SLICE_MS + epochOffsetMs);
    g.rec.value += r.value;
    g.at.set(ms, (g.at.get(ms) ?? 0) + r.value);
  }
  for (const { rec, at } of by.values()) {
    let slices = [...at].sort((a, b) => a[0] - b[0]);
    // more slices than a record carries (an interval printed seconds late): coarser, not lost
    while (slices.length > MAX_SLICES) {
      const half: [number, number][] = [];
      for (let i = 0; i < slices.length; i += 2) half.push([slices[i][0], slices[i][1] + (slices[i + 1]?.[1] ?? 0)]);
      slices = half;
    }
    rec.slices = slices;
  }
  return out;
}
