// What a drag on the subsecond heatmap selected: the samples of exactly the cells it covers.
import { describe, expect, it } from 'vitest';
import { samplesIn, subsecondHeatmap } from '../../web/src/heatmap/build.js';
import type { TraceRecord } from '../../protocol/records.js';

const sub = (off: number, n: number): TraceRecord => ({ kind: 'scalar', agg: 'subsecond', keys: [off], value: n });

describe('subsecond selection', () => {
  it('counts the samples of the cells a range overlaps, and none for an empty one', () => {
    // one interval ending at 10.000 s: samples at 100, 120 and 900 ms of second 9
    const d = subsecondHeatmap([{ interval: 1, time: 10_000, records: [sub(100, 3), sub(120, 4), sub(900, 5)] }]);
    expect(samplesIn(d, 9_100, 9_139)).toBe(7);
    expect(samplesIn(d, 9_105, 9_110)).toBe(3);
    expect(samplesIn(d, 9_000, 9_999)).toBe(12);
    expect(samplesIn(d, 9_300, 9_500)).toBe(0);
  });
});
