// Stored traces on a real SQLite file: what is read back is what was written (a trace cut
// short is rebuilt from its merged snapshot plus the frames after it), retention deletes by
// age and then by size, oldest first, and a full disk keeps the queue until it takes writes.
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fillDisk, openTestStore, smallDisk } from '../helpers/test-store.js';
import { StoreFaults } from '../../server/store-faults.js';
import { TraceStore, type StorableTrace } from '../../server/trace-store.js';
import type { TraceRecord } from '../../protocol/records.js';

function open(dir?: string) {
  const { store, faults, errors } = openTestStore(dir);
  return { store, faults, errors, traces: (budgetBytes = 1024 ** 3, maxAgeMs = 86_400_000) => new TraceStore(store, faults, { budgetBytes, maxAgeMs }, 0) };
}

const stack = (fn: string, value: number): TraceRecord => ({ kind: 'stack', agg: 'samples', keys: [], kernel: [], stack: ['main', fn], value }) as unknown as TraceRecord;

function trace(id: string, createdAt: number): StorableTrace {
  return {
    id, node: 'n1', zone: 'z1', script: 'cpu-profile', params: {}, durationS: 10, output: 'flame', unit: 'samples',
    status: 'running', createdAt, startedAt: createdAt, endedAt: null, intervals: 0, reasons: [], samplesLost: 0,
    drops: {}, errors: 0, truncated: 0, evicted: 0, events: [], merged: new Map(),
  };
}

/** One interval into the trace and the store, as the trace manager does it. */
function add(ts: TraceStore, t: StorableTrace, interval: number, records: TraceRecord[]) {
  t.intervals++;
  for (const r of records) {
    const k = (r as { stack: string[] }).stack.join(';');
    const have = t.merged.get(k) as { value: number } | undefined;
    if (have) have.value += (r as { value: number }).value;
    else t.merged.set(k, structuredClone(r));
  }
  ts.frame(t, interval, 1000 * interval, JSON.stringify(records));
}

describe('stored traces', () => {
  it('reads back an ended trace as written, and a running one as its snapshot plus the frames after it', () => {
    const { traces } = open();
    const ts = traces();
    const t = trace('a', 1);
    ts.changed(t);
    add(ts, t, 1, [stack('f', 3)]);
    add(ts, t, 2, [stack('g', 2), stack('f', 1)]);
    ts.flush();
    let back = ts.load('a')!;
    expect(back.meta).toMatchObject({ id: 'a', status: 'running', intervals: 2 });
    // no snapshot while it runs: every frame is after the (empty) merged result
    expect(back.merged).toEqual([]);
    expect(back.frames.map((f) => [f.interval, f.records.length])).toEqual([[1, 1], [2, 2]]);
    expect(back.frames.every((f) => f.row > back.mergedThrough)).toBe(true);
    expect(ts.unfinished()).toEqual(['a']);

    t.status = 'done';
    t.endedAt = 5;
    ts.changed(t);
    ts.flush();
    back = ts.load('a')!;
    expect(back.meta.status).toBe('done');
    expect(back.merged).toEqual([...t.merged.values()]);
    expect(back.frames.every((f) => f.row <= back.mergedThrough)).toBe(true);
    expect(ts.unfinished()).toEqual([]);
  });

  it('deletes ended traces past their age, then the oldest while over the byte budget, never a running one', () => {
    const { traces, store } = open();
    const budget = { bytes: 0 };
    const ts = new TraceStore(store, new StoreFaults(store, { inc: () => undefined }, { warn: () => undefined, error: () => undefined }), { maxAgeMs: 60_000, get budgetBytes() { return budget.bytes; } }, 0);
    const now = Date.now();
    const big = Array.from({ length: 20 }, (_, i) => stack(`fn${i}`, i));
    for (const [id, created, ended] of [['old', now - 120_000, now - 90_000], ['b', now - 50_000, now - 40_000], ['c', now - 30_000, now - 20_000], ['d', now - 10_000, now - 5000]] as const) {
      const t = trace(id, created);
      add(ts, t, 1, big);
      t.status = 'done';
      t.endedAt = ended;
      ts.changed(t);
    }
    const live = trace('live', now - 200_000);
    add(ts, live, 1, big);
    ts.flush();
    // room for the newest ended trace and the running one, not for one more
    const size = (id: string) => (store.db.prepare('SELECT bytes FROM traces WHERE id = ?').get(id) as { bytes: number }).bytes;
    budget.bytes = size('d') + size('live') + size('c') - 1;
    const gone = ts.expire(now);
    expect(gone.age).toEqual(['old']);
    expect(gone.budget).toEqual(['b', 'c']);
    expect(ts.summaries(10).map((m) => m.id).sort()).toEqual(['d', 'live']);
    expect(ts.load('b')).toBeUndefined();
  });

  it.skipIf(process.getuid?.() !== 0)('on a full disk keeps what it could not write, and writes it once the disk has room', () => {
    const data = smallDisk();
    const mnt = dirname(data);
    const { traces, errors, faults } = open(data);
    const ts = traces();
    const t = trace('full', Date.now());
    ts.changed(t);
    ts.flush();
    const makeRoom = fillDisk(mnt);
    for (let i = 1; i <= 50; i++) add(ts, t, i, Array.from({ length: 20 }, (_, j) => stack(`fn${i}_${j}`, 1)));
    t.status = 'done';
    t.endedAt = Date.now();
    ts.changed(t);
    ts.flush();
    expect(errors).toContain('write traces');
    expect(faults.health().status).toBe('degraded');
    expect(ts.unwritten('full')).toBe(true);
    makeRoom();
    ts.flush();
    expect(ts.unwritten('full')).toBe(false);
    const back = ts.load('full')!;
    expect(back.meta.status).toBe('done');
    expect(back.frames).toHaveLength(50);
    expect(back.merged).toHaveLength(1000);
  });
});
