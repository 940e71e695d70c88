// The zone history the UI charts read: bounded fleet-wide by points, by time and by frames,
// holding only what the zone views use.
import { describe, expect, it } from 'vitest';
import { Fleet, DEFAULT_FLEET } from '../../server/fleet.js';
import { NodeHistory } from '../../server/history.js';
import { PROTOCOL_VERSION, type Samples } from '../../protocol/messages.js';
import { helloFrame } from '../helpers/frames.js';

const hello = (node: string) => helloFrame(node);
const frame = (seq: number, time: number, zones: number): Samples => ({
  v: PROTOCOL_VERSION,
  type: 'samples',
  seq,
  time,
  points: [
    // a host point no zone view charts
    { f: 'node_memory_total_bytes', l: {}, v: 1 },
    ...Array.from({ length: zones }, (_, i) => ({ f: 'zone_pids', l: { zone: `z${i}` }, v: seq })),
  ],
  errors: [],
});

describe('fleet history', () => {
  it('keeps only zone points, and at most maxHistoryPoints across the fleet, largest history first', () => {
    const fleet = new Fleet({ ...DEFAULT_FLEET, maxHistoryPoints: 100 });
    for (const n of ['a', 'b']) fleet.connect(hello(n), { epoch: 1, last: 0, received: 0, gaps: 0 });
    const t0 = Date.now();
    for (let s = 1; s <= 20; s++) fleet.addSamples('a', frame(s, t0 + s, 5), t0 + s);
    for (let s = 1; s <= 4; s++) fleet.addSamples('b', frame(s, t0 + s, 5), t0 + s);
    expect(fleet.historyPoints).toBeLessThanOrEqual(100);
    const a = fleet.nodes.get('a')!.history;
    const b = fleet.nodes.get('b')!.history;
    expect(a.series.every((s) => s.zone)).toBe(true);
    // the big history gave way, the newest frames stayed, the small one is whole
    expect(a.frames[a.length - 1].seq).toBe(20);
    expect(b.frames.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    expect(fleet.historyPoints).toBe((a.length + b.length) * 5);
  });

  it('forgets history past the retention also for a node that went away', () => {
    const fleet = new Fleet({ ...DEFAULT_FLEET, retentionS: 10 });
    for (const n of ['gone', 'live']) fleet.connect(hello(n), { epoch: 1, last: 0, received: 0, gaps: 0 });
    const t0 = Date.now();
    fleet.addSamples('gone', frame(1, t0, 3), t0);
    fleet.disconnect('gone');
    // two minutes later only the live node sends; the sweep trims the one that left
    fleet.addSamples('live', frame(1, t0 + 120_000, 3), t0 + 120_000);
    expect(fleet.nodes.get('gone')!.history).toHaveLength(0);
    expect(fleet.historyPoints).toBe(3);
  });
});

describe('compact node history', () => {
  const pts = (v: number, zones: string[]) => zones.flatMap((z) => [
    { f: 'zone_cpu_seconds_total', l: { zone: z, alias: `a-${z}`, mode: 'user' }, v },
    { f: 'zone_cpu_seconds_total', l: { zone: z, alias: `a-${z}`, mode: 'system' }, v: v / 2 },
  ]);

  it('answers a zone\'s columns, with nulls where a frame lacked a series, and sums a family', () => {
    const h = new NodeHistory();
    h.add(1, 1000, pts(10, ['web', 'db']));
    h.add(2, 2000, [...pts(20, ['web']), { f: 'node_load1', l: {}, v: 3 }]);
    h.add(3, 3000, pts(30, ['web', 'db']));
    expect(h.points).toBe(10); // node_load1 has no zone: not kept
    expect(h.columns('db', 0)).toEqual({
      times: [1000, 2000, 3000],
      series: { 'zone_cpu_seconds_total{mode="user"}': [10, null, 30], 'zone_cpu_seconds_total{mode="system"}': [5, null, 15] },
    });
    expect(h.columns('web', 2000).times).toEqual([2000, 3000]);
    expect(h.total(h.frames[2], 'web', 'zone_cpu_seconds_total')).toBe(45);
    expect(h.total(h.frames[1], 'db', 'zone_cpu_seconds_total')).toBeUndefined();
  });

  it('names series afresh as zones come and go, so the table stays as small as the frames need', () => {
    const h = new NodeHistory();
    for (let s = 1; s <= 3000; s++) {
      h.add(s, s * 1000, pts(s, [`z${s}`, 'steady']));
      if (h.length > 10) h.shift();
    }
    expect(h.series.length).toBeLessThan(1100);
    // the steady zone reads right across the renumbering, and the newest churned one too
    expect(h.columns('steady', 0).series['zone_cpu_seconds_total{mode="user"}']).toEqual(Array.from({ length: 10 }, (_, i) => 2991 + i));
    expect(h.columns('z3000', 0).series['zone_cpu_seconds_total{mode="system"}']).toEqual([...Array(9).fill(null), 1500]);
  });

  it('gives the store only frames still held, whose ids name the series as numbered now', () => {
    const h = new NodeHistory();
    for (let s = 1; s <= 3000; s++) {
      h.add(s, s * 1000, pts(s, [`z${s}`, 'steady']));
      if (h.length > 10) h.shift();
    }
    expect(h.generation).toBeGreaterThan(0); // the series were numbered afresh meanwhile
    const taken = h.takeUnstored();
    expect(taken).toEqual(h.frames);
    for (const f of taken) for (const id of f.ids) expect(id).toBeLessThan(h.series.length);
    expect(h.takeUnstored()).toEqual([]);
  });

  it('puts a resent frame older than those kept in its time order, so charts read left to right', () => {
    const h = new NodeHistory();
    h.add(1, 1000, pts(10, ['web']));
    h.add(3, 3000, pts(30, ['web']));
    h.add(2, 2000, pts(20, ['web']));
    expect(h.columns('web', 0)).toEqual({ times: [1000, 2000, 3000], series: { 'zone_cpu_seconds_total{mode="user"}': [10, 20, 30], 'zone_cpu_seconds_total{mode="system"}': [5, 10, 15] } });
  });

  it('keeps one ids array for frames naming the same series, and renumbers it once', () => {
    const h = new NodeHistory();
    // zones come and go: the series table grows to the edge of renumbering
    let s = 0;
    const add = (zones: string[]) => {
      s++;
      h.add(s, s * 1000, pts(s, zones));
      if (h.length > 8) h.shift();
    };
    while (h.series.length < 1020) add([`z${s}`, 'steady']);
    for (let i = 0; i < 6; i++) add(['steady']);
    const steady = h.frames.at(-1)!.ids;
    expect(h.frames.filter((f) => f.ids === steady).length).toBe(6);
    // two new zones tip it over: it is renumbered under the shared array
    for (let i = 0; i < 3; i++) add([`new${i}`, 'steady']);
    expect(h.series.length).toBe(8); // steady and the three new zones, two series each
    expect(h.columns('steady', 0).series['zone_cpu_seconds_total{mode="user"}']).toEqual(Array.from({ length: 8 }, (_, i) => s - 7 + i));
    expect(h.columns('new2', 0).series['zone_cpu_seconds_total{mode="system"}']).toEqual([...Array(7).fill(null), s / 2]);
  });
});
