// The zone history the UI charts read: bounded fleet-wide by points, by time and by frames,
// holding only what the zone views use.
import { describe, expect, it } from 'vitest';
import { Fleet, DEFAULT_FLEET } from '../../server/fleet.js';
import { PROTOCOL_VERSION, type Samples } from '../../protocol/messages.js';
import { helloFrame } from '../helpers/frames.js';

const hello = (node: string) => helloFrame(node);
const frame = (seq: number, time: number, zones: number): Samples => ({
  v: PROTOCOL_VERSION,
  type: 'samples',
  seq,
  time,
  points: [
    { f: 'node_load1', l: {}, v: 1 },
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
    expect(a.every((f) => f.points.every((p) => p.l.zone))).toBe(true);
    // the big history gave way, the newest frames stayed, the small one is whole
    expect(a[a.length - 1].seq).toBe(20);
    expect(b.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
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
