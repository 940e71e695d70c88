// The continuous-profile store: stacks summed per bucket, a window returns the buckets it
// overlaps and no others, what was written survives reopening the database (also a bucket
// the server stopped in the middle of), and the budget and retention delete the oldest first.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileStore, decodeCounts, encodeCounts } from '../../server/profile-store.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'zs-prof-')), 'zonescope.db');
const f = (o: Record<string, number>) => new Map(Object.entries(o));
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('profile store', () => {
  it('sums each bucket and answers a window with only the buckets it overlaps', () => {
    const p = new ProfileStore(new Database(dbFile()));
    p.add('cn1', 'web', f({ 'app;main;idle': 5 }), T0 + 1000);
    p.add('cn1', 'web', f({ 'app;main;idle': 5, 'app;main;hot': 2 }), T0 + 30_000);
    p.add('cn1', 'web', f({ 'app;main;hot': 40 }), T0 + MIN + 10);
    p.add('cn1', 'web', f({ 'app;main;hot': 38 }), T0 + 2 * MIN + 10);
    p.add('cn1', 'db', f({ 'pg;exec': 7 }), T0 + MIN + 10);
    p.flush(T0 + 2 * MIN + 20);
    // the third minute is still open: answered from memory
    expect(p.buckets('cn1', 'web', T0, T0 + 3 * MIN)).toEqual([
      { t: T0, samples: 12 },
      { t: T0 + MIN, samples: 40 },
      { t: T0 + 2 * MIN, samples: 38 },
    ]);
    expect(p.window('cn1', 'web', T0 + MIN, T0 + 2 * MIN)).toEqual(f({ 'app;main;hot': 40 }));
    expect(p.window('cn1', 'web', T0, T0 + MIN)).toEqual(f({ 'app;main;idle': 10, 'app;main;hot': 2 }));
    expect(p.buckets('cn1', 'web', T0 + MIN, T0 + 2 * MIN)).toEqual([{ t: T0 + MIN, samples: 40 }]);
    // zones are kept apart
    expect(p.window('cn1', 'db', T0, T0 + 3 * MIN)).toEqual(f({ 'pg;exec': 7 }));
    expect(p.window('cn2', 'web', T0, T0 + 3 * MIN).size).toBe(0);
    expect(p.first('cn1', 'web')).toBe(T0);
    expect(p.first('cn9', 'x')).toBeNull();
  });

  it('puts a late interval into the bucket of its time, also one already written', () => {
    const p = new ProfileStore(new Database(dbFile()));
    p.add('cn1', 'web', f({ 'app;a': 3 }), T0 + 59_000);
    p.add('cn1', 'web', f({ 'app;b': 5 }), T0 + MIN + 1000);
    // the interval of second 59.5 arrives after one of the next minute
    p.add('cn1', 'web', f({ 'app;a': 2 }), T0 + 59_500);
    p.flush(T0 + 2 * MIN + 5);
    p.add('cn1', 'web', f({ 'app;a': 1 }), T0 + 59_900);
    p.flush(T0 + 2 * MIN + 10);
    expect(p.buckets('cn1', 'web', 0, T0 + 10 * MIN)).toEqual([
      { t: T0, samples: 6 },
      { t: T0 + MIN, samples: 5 },
    ]);
    expect(p.window('cn1', 'web', T0, T0 + MIN)).toEqual(f({ 'app;a': 6 }));
  });

  it('keeps what it wrote across a restart, adding to a bucket cut by the stop', () => {
    const file = dbFile();
    const a = new ProfileStore(new Database(file));
    a.add('cn1', 'web', f({ 'app;a': 3, 'app;b': 4 }), T0 + 5);
    a.add('cn1', 'web', f({ 'app;a': 1 }), T0 + MIN + 5);
    a.close(T0 + MIN + 30_000); // the server stops in the middle of the second minute
    const b = new ProfileStore(new Database(file));
    b.add('cn1', 'web', f({ 'app;a': 10 }), T0 + MIN + 40_000);
    b.flush(T0 + 3 * MIN);
    expect(b.buckets('cn1', 'web', 0, T0 + 10 * MIN)).toEqual([
      { t: T0, samples: 7 },
      { t: T0 + MIN, samples: 11 },
    ]);
    expect(b.window('cn1', 'web', 0, T0 + 10 * MIN)).toEqual(f({ 'app;a': 14, 'app;b': 4 }));
    // a stack is stored once, however many buckets use it
    const db = new Database(file);
    expect((db.prepare('SELECT COUNT(*) AS n FROM profile_stacks').get() as { n: number }).n).toBe(2);
  });

  it('stays within its budget, oldest buckets first, and drops the stacks only they used', () => {
    const p = new ProfileStore(new Database(dbFile()), { budgetBytes: 64 * 1024, retentionMs: 1000 * MIN });
    for (let m = 0; m < 200; m++) {
      const stacks: Record<string, number> = { 'app;main;common': 10 };
      // each minute has its own stacks too: they must go with their minute
      for (let i = 0; i < 20; i++) stacks[`app;main;only_minute_${m};f${i}`] = i + 1;
      p.add('cn1', 'web', f(stacks), T0 + m * MIN);
      p.flush(T0 + m * MIN + MIN);
      expect(p.bytes()).toBeLessThanOrEqual(64 * 1024);
    }
    expect(p.evicted).toBeGreaterThan(0);
    const kept = p.buckets('cn1', 'web', 0, T0 + 1000 * MIN);
    // the newest minutes are the ones kept, without holes
    expect(kept[kept.length - 1].t).toBe(T0 + 199 * MIN);
    expect(kept.length).toBeGreaterThan(10);
    for (let i = 1; i < kept.length; i++) expect(kept[i].t - kept[i - 1].t).toBe(MIN);
    const w = p.window('cn1', 'web', 0, T0 + 1000 * MIN);
    expect(w.get('app;main;common')).toBe(10 * kept.length);
    expect(total(w)).toBe(kept.reduce((a, b) => a + b.samples, 0));
  });

  it('deletes buckets older than the retention', () => {
    const p = new ProfileStore(new Database(dbFile()), { retentionMs: 10 * MIN });
    for (let m = 0; m < 30; m++) p.add('cn1', 'web', f({ 'app;x': 1 }), T0 + m * MIN);
    p.flush(T0 + 30 * MIN);
    const kept = p.buckets('cn1', 'web', 0, T0 + 100 * MIN);
    expect(kept.map((b) => b.t)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + (20 + i) * MIN));
  });

  it('encodes counts compactly and reads them back', () => {
    const pairs: [number, number][] = [[900_000, 1], [3, 2_000_000], [1, 127], [128, 128]];
    const b = encodeCounts([...pairs]);
    const back: [number, number][] = [];
    decodeCounts(b, (id, n) => back.push([id, n]));
    expect(back).toEqual([...pairs].sort((x, y) => x[0] - y[0]));
    expect(b.length).toBeLessThanOrEqual(14);
    expect(() => decodeCounts(Buffer.from([0x81]), () => {})).toThrow(/truncated/);
  });
});
