// The subsecond heatmap and what a drag on it selects: cells are counted from the stacks' time
// slices, and a selection is every cell from the first to the last in time order, with the
// range of slice starts the server cuts the flame graph's stacks to.
import { describe, expect, it } from 'vitest';
import { selectCells, subsecondHeatmap } from '../../web/src/heatmap/build.js';
import type { TraceRecord } from '../../protocol/records.js';

const stack = (frame: string, slices: [number, number][]): TraceRecord => ({
  kind: 'stack',
  agg: 'samples',
  keys: [7, 'app'],
  stack: [frame],
  kernel: 0,
  value: slices.reduce((a, [, n]) => a + n, 0),
  slices,
});

describe('subsecond heatmap', () => {
  // samples at 9.100 s, 9.120 s, 9.905 s and 10.013 s, in two intervals
  const ivs = [
    { interval: 1, time: 10_000, records: [stack('a', [[9_100, 3], [9_905, 5]]), stack('b', [[9_120, 4]])] },
    { interval: 2, time: 11_000, records: [stack('a', [[10_013, 2]])] },
  ];

  it('places each slice in the cell of its second and 20 ms row', () => {
    const d = subsecondHeatmap(ivs);
    expect(d.precise).toBe(true);
    expect(d.times).toEqual([9, 10]);
    const cell = (col: number, row: number) => d.counts[col * d.rows.length + row];
    expect(cell(0, 5)).toBe(3); // 9.100
    expect(cell(0, 6)).toBe(4); // 9.120
    expect(cell(0, 45)).toBe(5); // 9.905 → row 900-920
    expect(cell(1, 0)).toBe(2); // 10.013
    expect(d.counts.reduce((a, b) => a + b, 0)).toBe(14);
  });

  it('selects whole cells from the first to the last in time order, and says when that is none', () => {
    const d = subsecondHeatmap(ivs);
    expect(selectCells(d, 9_105, 9_110)).toEqual({ from: 9_100, to: 9_119, slices: 1, samples: 3 });
    expect(selectCells(d, 9_110, 9_121)).toEqual({ from: 9_100, to: 9_139, slices: 2, samples: 7 });
    // across the second: 9.905 .. 10.013
    expect(selectCells(d, 9_901, 10_001)).toEqual({ from: 9_900, to: 10_019, slices: 6, samples: 7 });
    expect(selectCells(d, 9_300, 9_500).samples).toBe(0);
  });

  it('places stacks without slices at their interval, and says it is not precise', () => {
    const d = subsecondHeatmap([{ interval: 1, time: 10_000, records: [{ ...stack('a', []), slices: undefined, value: 6 }] }]);
    expect(d.precise).toBe(false);
    expect(d.times).toEqual([9]);
    expect(d.counts[49]).toBe(6); // 9.999
  });
});
