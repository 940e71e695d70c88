// The latency heatmap's columns sit on a regular grid of the trace's interval (a late interval
// neither overlaps its neighbour nor leaves columns uneven), one system call or device can be
// chosen, and the table gives percentiles per key instead of a dump of buckets.
import { describe, expect, it } from 'vitest';
import { latencyHeatmap, histKeys, percentilesByKey, type Interval } from '../../web/src/heatmap/build.js';
import type { TraceRecord } from '../../protocol/records.js';

const hist = (key: string, counts: [number, number, number][]): TraceRecord => ({ kind: 'hist', agg: 'lat', keys: [key], buckets: counts.map(([lo, hi, count]) => ({ lo, hi, count })) });
const iv = (n: number, time: number, records: TraceRecord[]): Interval => ({ interval: n, time, records });

describe('latency heatmap', () => {
  // 1 s intervals; the third arrived 400 ms late, the fourth on time, the fifth never came
  const ivs = [
    iv(1, 10_000, [hist('read', [[1000, 2000, 5]]), hist('write', [[4000, 8000, 1]])]),
    iv(2, 11_000, [hist('read', [[1000, 2000, 3]])]),
    iv(3, 12_400, [hist('read', [[2000, 4000, 2]])]),
    iv(4, 13_000, [hist('read', [[1000, 2000, 1]])]),
    iv(6, 15_000, [hist('write', [[4000, 8000, 7]])]),
  ];

  it('puts every interval in its own slot of a regular grid, leaving a missing one empty', () => {
    const d = latencyHeatmap(ivs);
    expect(d.step).toBe(1);
    expect(d.times).toEqual([9, 10, 11, 12, 13, 14]);
    const R = d.rows.length;
    const colTotal = (c: number) => Array.from({ length: R }, (_, r) => d.counts[c * R + r]).reduce((a, b) => a + b, 0);
    expect([0, 1, 2, 3, 4, 5].map(colTotal)).toEqual([6, 3, 2, 1, 0, 7]);
  });

  it('draws one key alone, and lists the keys by events', () => {
    const d = latencyHeatmap(ivs, undefined, 'write');
    expect(d.rows).toEqual([[4000, 8000]]);
    expect([...d.counts]).toEqual([1, 0, 0, 0, 0, 7]);
    expect(histKeys(ivs)).toEqual([{ key: 'read', count: 11 }, { key: 'write', count: 8 }]);
  });

  it('gives p50, p90, p99 per key as the upper bound of the bucket each falls in', () => {
    const rows = percentilesByKey([hist('read', [[1000, 2000, 90], [2000, 4000, 9], [4000, 8000, 1]]), hist('open', [[8000, 16000, 1]])]);
    expect(rows).toEqual([
      { key: 'read', count: 100, p50: 2000, p90: 2000, p99: 4000, max: 8000 },
      { key: 'open', count: 1, p50: 16000, p90: 16000, p99: 16000, max: 16000 },
    ]);
  });
});
