// Stack rows keyed by time slice become one record per stack whose slices say, in epoch ms,
// when its samples fell; rows of other shapes pass through untouched.
import { describe, expect, it } from 'vitest';
import { timeSlices } from '../../agent/tracers/time-slices.js';
import { MAX_SLICES, SLICE_MS, type TraceRecord } from '../../protocol/records.js';

const row = (stack: string[], pid: number, slice: number, value: number): TraceRecord => ({ kind: 'stack', agg: 'samples', keys: [pid, 'app', slice], stack, kernel: 0, value });

describe('time slices', () => {
  it('joins the rows of one stack and process, slices in epoch ms, ascending, adding up to the value', () => {
    const out = timeSlices([row(['f', 'main'], 7, 51, 2), row(['g', 'main'], 7, 50, 1), row(['f', 'main'], 7, 50, 3), row(['f', 'main'], 8, 50, 4)], 1_000_000);
    expect(out).toEqual([
      { kind: 'stack', agg: 'samples', keys: [7, 'app'], stack: ['f', 'main'], kernel: 0, value: 5, slices: [[1_001_000, 3], [1_001_020, 2]] },
      { kind: 'stack', agg: 'samples', keys: [7, 'app'], stack: ['g', 'main'], kernel: 0, value: 1, slices: [[1_001_000, 1]] },
      { kind: 'stack', agg: 'samples', keys: [8, 'app'], stack: ['f', 'main'], kernel: 0, value: 4, slices: [[1_001_000, 4]] },
    ]);
  });

  it('leaves other records, and stacks whose last key is no slice, as they are', () => {
    const other: TraceRecord[] = [
      { kind: 'scalar', agg: 'calls', keys: ['read'], value: 3 },
      { kind: 'stack', agg: 'samples', keys: [7, 'app'], stack: ['f'], kernel: 0, value: 1 },
      { kind: 'stack', agg: 'samples', keys: [], stack: ['f'], kernel: 0, value: 1 },
    ];
    expect(timeSlices(structuredClone(other), 0)).toEqual(other);
  });

  it('halves the resolution of a record with more slices than the wire takes, keeping every sample', () => {
    const rows = Array.from({ length: MAX_SLICES + 10 }, (_, i) => row(['f'], 7, i, 1));
    const [r] = timeSlices(rows, 0);
    if (r.kind !== 'stack') throw new Error('not a stack');
    expect(r.slices!.length).toBeLessThanOrEqual(MAX_SLICES);
    // pairs joined: each slice now stands for two, 40 ms apart
    expect(r.slices![1][0] - r.slices![0][0]).toBe(2 * SLICE_MS);
    expect(r.slices![0][1]).toBe(2);
    expect(r.slices!.reduce((a, [, n]) => a + n, 0)).toBe(MAX_SLICES + 10);
    expect(r.value).toBe(MAX_SLICES + 10);
  });
});
