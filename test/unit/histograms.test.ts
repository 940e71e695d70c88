import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { HistogramFamily } from '../../server/histograms.js';
import type { HistRecord } from '../../protocol/records.js';

const fam = () =>
  new HistogramFamily({ name: 'zonescope_syscall_latency_seconds', help: 'h', keyLabels: ['syscall'], scale: 1e-9, maxSeriesPerNode: 3 });
const hist = (syscall: string, buckets: [number | null, number | null, number][]): HistRecord => ({
  kind: 'hist',
  agg: 'latency',
  keys: [syscall],
  buckets: buckets.map(([lo, hi, count]) => ({ lo, hi, count })),
});
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}+."]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

describe('tracer histograms as Prometheus histograms', () => {
  it('maps [lo, hi) integer buckets to le = hi - 1 exactly, cumulative, +Inf = _count', () => {
    const h = fam();
    h.add('n1', 'web', hist('read', [[1024, 2048, 5], [2048, 4096, 3], [4096, null, 2]]));
    const t = h.render();
    expect(value(t, 'zonescope_syscall_latency_seconds_bucket{node="n1",zone="web",syscall="read",le="0.000002047"}')).toBe(5);
    expect(value(t, 'zonescope_syscall_latency_seconds_bucket{node="n1",zone="web",syscall="read",le="0.000004095"}')).toBe(8);
    expect(value(t, 'zonescope_syscall_latency_seconds_bucket{node="n1",zone="web",syscall="read",le="+Inf"}')).toBe(10);
    expect(value(t, 'zonescope_syscall_latency_seconds_count{node="n1",zone="web",syscall="read"}')).toBe(10);
  });

  it('keeps counting across intervals and a restarted tracer: never backwards', () => {
    const h = fam();
    h.add('n1', 'web', hist('read', [[1024, 2048, 5]]));
    const first = value(h.render(), 'zonescope_syscall_latency_seconds_count{node="n1",zone="web",syscall="read"}');
    // the tracer restarts: its next interval holds fewer values than the running total
    h.add('n1', 'web', hist('read', [[512, 1024, 1], [1024, 2048, 1]]));
    const t = h.render();
    expect(value(t, 'zonescope_syscall_latency_seconds_count{node="n1",zone="web",syscall="read"}')).toBe(first + 2);
    expect(value(t, 'zonescope_syscall_latency_seconds_bucket{node="n1",zone="web",syscall="read",le="0.000001023"}')).toBe(1);
    expect(value(t, 'zonescope_syscall_latency_seconds_bucket{node="n1",zone="web",syscall="read",le="0.000002047"}')).toBe(7);
  });

  it('caps series per node and counts the rest; exports _sum only when summed', async () => {
    const h = fam();
    for (const s of ['a', 'b', 'c', 'd', 'e']) h.add('n1', 'z', hist(s, [[1, 2, 1]]), 1000);
    expect(h.dropped).toBe(2);
    const t = h.render();
    expect(t.match(/_count\{/g)).toHaveLength(3);
    expect(value(t, 'zonescope_syscall_latency_seconds_sum{node="n1",zone="z",syscall="a"}')).toBeCloseTo(1e-6);
    const r = await execa('promtool', ['check', 'metrics'], { input: t, reject: false });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
  });

  it('forgets a node that leaves', () => {
    const h = fam();
    h.add('n1', 'z', hist('read', [[1, 2, 1]]));
    h.add('n2', 'z', hist('read', [[1, 2, 1]]));
    h.dropNode('n1');
    expect(h.render()).not.toContain('node="n1"');
    expect(h.render('n2')).toContain('node="n2"');
  });
});
