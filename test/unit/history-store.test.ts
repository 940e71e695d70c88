// Stored zone history on a real SQLite file: a node's history read back after a "restart" (a
// new fleet on the same store) charts exactly what the old one did, across zones that come and
// go and frames whose series are shared; what left the history in memory leaves the disk; a
// damaged chunk costs that node its history, counted, never the server.
import { describe, expect, it } from 'vitest';
import { dirname } from 'node:path';
import { fillDisk, openTestStore, smallDisk } from '../helpers/test-store.js';
import { Fleet, DEFAULT_FLEET, type FleetOptions } from '../../server/fleet.js';
import { HistoryStore, decodeFrames, encodeFrames } from '../../server/history-store.js';
import { PROTOCOL_VERSION, type Point, type Samples } from '../../protocol/messages.js';
import { helloFrame } from '../helpers/frames.js';

function open(dir?: string) {
  const { store, faults, errors } = openTestStore(dir);
  /** a server on this store: its fleet and history store (written by hand with tick) */
  const server = (opts: Partial<FleetOptions> = {}) => {
    const fleetOpts = { ...DEFAULT_FLEET, ...opts };
    const hs = new HistoryStore(store, faults, fleetOpts.retentionS, { chunkMs: 60_000, tickMs: 3_600_000 });
    const fleet = new Fleet(fleetOpts, hs);
    hs.attach(fleet);
    return { fleet, hs };
  };
  return { store, errors, server };
}

const points = (seq: number, zones: string[]): Point[] => [
  { f: 'node_load1', l: {}, v: seq },
  ...zones.flatMap((z, i) => [
    { f: 'zone_cpu_seconds_total', l: { zone: z, mode: 'user' }, v: seq * 10 + i },
    { f: 'zone_cpu_seconds_total', l: { zone: z, mode: 'system' }, v: seq * 5 + i },
    { f: 'zone_memory_rss_bytes', l: { zone: z, alias: `alias-${z}` }, v: 1e9 + seq * 4096 + i },
  ]),
];
const frame = (seq: number, time: number, zones: string[]): Samples => ({ v: PROTOCOL_VERSION, type: 'samples', seq, time, points: points(seq, zones), errors: [] });
const connect = (fleet: Fleet, node: string) => fleet.connect(helloFrame(node), { epoch: 1, last: 0, received: 0, gaps: 0 });

describe('stored zone history', () => {
  it('encodes frames compactly and decodes them as they were, shared ids arrays included', () => {
    const ids = Uint32Array.from([0, 1, 2]);
    const frames = [
      { seq: 1, time: 1000, ids, values: Float64Array.from([1, 2.5, -3]) },
      { seq: 2, time: 2000, ids, values: Float64Array.from([4, 5, 6]) },
      { seq: 3, time: 3000, ids: Uint32Array.from([2, 7]), values: Float64Array.from([7, 8]) },
    ];
    const blob = encodeFrames(frames);
    // 32 bytes a frame, 8 a value, 4 an id (padded) only where the ids change
    expect(blob.length).toBe(3 * 32 + 8 * 8 + 16 + 8);
    const back = decodeFrames(blob);
    expect(back.map((f) => [f.seq, f.time, [...f.ids], [...f.values]])).toEqual(frames.map((f) => [f.seq, f.time, [...f.ids], [...f.values]]));
    expect(back[1].ids).toBe(back[0].ids);
    expect(() => decodeFrames(blob.subarray(0, blob.length - 8))).toThrow(/cut short/);
  });

  it('keeps writing when the server clock steps back: a due time a period ahead is due now', () => {
    const { store, server } = open();
    const a = server();
    connect(a.fleet, 'n1');
    const t0 = Date.now();
    a.fleet.addSamples('n1', frame(1, t0, ['z1']), t0);
    a.hs.tick(t0, true); // marks the node, due a minute on
    a.fleet.addSamples('n1', frame(2, t0 + 1000, ['z1']), t0 + 1000);
    a.hs.tick(t0 + 61_000); // written: due
    const stored = () => (store.db.prepare('SELECT sum(frames) AS n FROM history_chunks').get() as { n: number }).n;
    expect(stored()).toBe(2);
    // the clock steps back an hour: the next frame is still written at its next tick
    a.fleet.addSamples('n1', frame(3, t0 + 2000, ['z1']), t0 + 2000);
    a.hs.tick(t0 - 3_600_000);
    expect(stored()).toBe(3);
    a.hs.close();
  });

  it('brings a node\'s history back after a restart as it was charted, across zones that come and go', () => {
    const { server } = open();
    const a = server();
    connect(a.fleet, 'n1');
    const t0 = Date.now() - 60_000;
    for (let s = 1; s <= 12; s++) {
      // z2 appears at frame 5 (a new dictionary), z1 leaves after frame 9
      const zones = [...(s <= 9 ? ['z1'] : []), 'global', ...(s >= 5 ? ['z2'] : [])];
      a.fleet.addSamples('n1', frame(s, t0 + s * 1000, zones), t0 + s * 1000);
      if (s % 4 === 0) a.hs.tick(Date.now(), true);
    }
    a.hs.close();
    const since = t0 - 1;
    const before = Object.fromEntries(['z1', 'z2', 'global'].map((z) => [z, a.fleet.nodes.get('n1')!.history.columns(z, since)]));

    const b = server();
    expect(b.fleet.historyPoints).toBe(0);
    const st = connect(b.fleet, 'n1');
    expect(st.history.length).toBe(12);
    for (const z of ['z1', 'z2', 'global']) expect(st.history.columns(z, since)).toEqual(before[z]);
    expect(b.fleet.historyPoints).toBe(a.fleet.historyPoints);
    // the restored history goes on: a new frame, written with a dictionary of its own, and back again
    b.fleet.addSamples('n1', frame(13, t0 + 13_000, ['z2', 'z3']), t0 + 13_000);
    b.hs.close();
    const c = server();
    const again = connect(c.fleet, 'n1');
    expect(again.history.columns('z3', since).series['zone_memory_rss_bytes{}']).toEqual([...new Array(12).fill(null), 1e9 + 13 * 4096 + 1]);
    expect(again.history.columns('z2', since)).toEqual(st.history.columns('z2', since));
    c.hs.close();
  });

  it('deletes from disk what left the history in memory, and what is past the retention', () => {
    const { server, store } = open();
    const a = server({ maxHistoryFrames: 3 });
    connect(a.fleet, 'n1');
    const t0 = Date.now() - 60_000;
    for (let s = 1; s <= 12; s++) {
      a.fleet.addSamples('n1', frame(s, t0 + s * 1000, ['z1']), t0 + s * 1000);
      a.hs.tick(Date.now(), true);
    }
    const stored = store.db.prepare('SELECT sum(frames) AS n FROM history_chunks').get() as { n: number };
    expect(stored.n).toBeLessThanOrEqual(4);
    expect(stored.n).toBeGreaterThanOrEqual(3);
    a.hs.close();
    // a node that never came back is gone once its samples are older than the retention
    const later = server({ retentionS: 30 });
    later.hs.tick(Date.now(), true);
    expect(store.db.prepare('SELECT count(*) AS n FROM history_chunks').get()).toEqual({ n: 0 });
    expect(connect(later.fleet, 'n1').history.length).toBe(0);
    later.hs.close();
  });

  it('a damaged chunk costs that node its stored history, counted; the node is served afresh', () => {
    const { server, store, errors } = open();
    const a = server();
    connect(a.fleet, 'n1');
    const t0 = Date.now() - 10_000;
    for (let s = 1; s <= 3; s++) a.fleet.addSamples('n1', frame(s, t0 + s * 1000, ['z1']), t0 + s * 1000);
    a.hs.close();
    store.db.prepare('UPDATE history_chunks SET data = ?').run(Buffer.from('not a chunk'));
    const b = server();
    const st = connect(b.fleet, 'n1');
    expect(st.history.length).toBe(0);
    expect(errors).toContain('read zone history');
    expect(b.fleet.addSamples('n1', frame(4, Date.now(), ['z1']))).toBe(true);
    expect(st.history.length).toBe(1);
    b.hs.close();
  });

  it.skipIf(process.getuid?.() !== 0)('on a full disk keeps the history in memory and writes it once the disk has room', () => {
    const data = smallDisk();
    const mnt = dirname(data);
    const { server, errors } = open(data);
    const a = server();
    connect(a.fleet, 'n1');
    const makeRoom = fillDisk(mnt);
    const t0 = Date.now() - 60_000;
    const zones = Array.from({ length: 40 }, (_, i) => `zone-${i}`);
    for (let s = 1; s <= 20; s++) a.fleet.addSamples('n1', frame(s, t0 + s * 1000, zones), t0 + s * 1000);
    a.hs.tick(Date.now(), true);
    expect(errors).toContain('write zone history');
    // nothing taken is lost: the charts still have every frame
    const before = a.fleet.nodes.get('n1')!.history.columns('zone-7', 0);
    expect(before.times).toHaveLength(20);
    makeRoom();
    a.hs.close();
    const b = server();
    expect(connect(b.fleet, 'n1').history.columns('zone-7', 0)).toEqual(before);
    b.hs.close();
  });
});
