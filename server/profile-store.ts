// Continuous profiles: what the always-on cpu-profile of each zone sampled, kept per bucket
// (a minute by default) in the server's SQLite database, so the zone page can show any window
// of the last hours without starting a trace.
//
// Storage: a stack (folded text, its program at the root) is interned once, in
// profile_stacks; a bucket is one row per zone with its sample total and the counts of the
// stacks it saw, as a blob of varint pairs (stack id delta, count) sorted by id — a few bytes
// per distinct stack per minute. The current bucket of each zone is summed in memory and
// written when it ends. Retention by age and a size budget: the oldest buckets go first, and
// stacks no bucket uses any more go with them.
import type Database from 'better-sqlite3';

export interface ProfileStoreOptions {
  /** bucket length (one minute; tests use shorter ones) */
  bucketMs: number;
  /** buckets older than this are deleted */
  retentionMs: number;
  /** bytes of bucket blobs and interned stacks; over it the oldest buckets go first */
  budgetBytes: number;
}

export const DEFAULT_PROFILES: ProfileStoreOptions = {
  bucketMs: 60_000,
  retentionMs: 24 * 3600_000,
  budgetBytes: 1024 * 1024 * 1024,
};

/** A stack's recorded last use may lag its real last use by at most this much: updating it
 * on every use would cost a write per stack per bucket. */
const LAST_USE_SLACK_MS = 3600_000;
/** interned stacks remembered in memory (id, recorded last use); past it the cache starts over */
const CACHE_MAX = 200_000;
/** buckets a zone may hold in memory while the disk refuses writes (then the oldest go) */
const PENDING_MAX = 120;

interface Bucket {
  start: number;
  samples: number;
  stacks: Map<string, number>;
}

interface ZoneBuf {
  node: string;
  zone: string;
  current?: Bucket;
  /** ended buckets not yet written (the disk refused them) */
  pending: Bucket[];
}

export interface BucketSummary {
  t: number;
  samples: number;
}

// -- the counts blob: varints, no dependency worth taking for 20 lines --
function putVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

export function encodeCounts(pairs: [number, number][]): Buffer {
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let prev = 0;
  for (const [id, n] of pairs) {
    putVarint(out, id - prev);
    putVarint(out, n);
    prev = id;
  }
  return Buffer.from(out);
}

export function decodeCounts(b: Uint8Array, each: (id: number, count: number) => void): void {
  let i = 0;
  let id = 0;
  const next = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= b.length) throw new Error('profile bucket: truncated counts');
      const c = b[i++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 0x80;
    }
  };
  while (i < b.length) {
    id += next();
    each(id, next());
  }
}

export class ProfileStore {
  readonly opts: ProfileStoreOptions;
  private readonly zones = new Map<string, ZoneBuf>();
  private readonly zoneIds = new Map<string, number>();
  private readonly stackIds = new Map<string, { id: number; last: number }>();
  private readonly stackText = new Map<number, string>();
  /** bytes stored: bucket blobs and interned stack text */
  private stored = 0;
  /** buckets deleted to stay within the budget (not by age) */
  evicted = 0;
  /** buckets lost because the disk refused them for too long */
  lost = 0;
  private readonly q: Record<string, Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    opts: Partial<ProfileStoreOptions> = {},
    private readonly attempt: <T>(op: string, fn: () => T) => T | undefined = (_op, fn) => fn(),
  ) {
    this.opts = { ...DEFAULT_PROFILES, ...opts };
    db.exec(`
      CREATE TABLE IF NOT EXISTS profile_zones (
        id INTEGER PRIMARY KEY, node TEXT NOT NULL, zone TEXT NOT NULL, UNIQUE (node, zone));
      CREATE TABLE IF NOT EXISTS profile_stacks (
        id INTEGER PRIMARY KEY, folded TEXT NOT NULL UNIQUE, last INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS profile_buckets (
        zone_id INTEGER NOT NULL, start INTEGER NOT NULL, len INTEGER NOT NULL,
        samples INTEGER NOT NULL, counts BLOB NOT NULL, PRIMARY KEY (zone_id, start)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS profile_buckets_start ON profile_buckets (start);
    `);
    this.q = {
      zoneId: db.prepare('SELECT id FROM profile_zones WHERE node = ? AND zone = ?'),
      addZone: db.prepare('INSERT INTO profile_zones (node, zone) VALUES (?, ?)'),
      stack: db.prepare('SELECT id, last FROM profile_stacks WHERE folded = ?'),
      addStack: db.prepare('INSERT INTO profile_stacks (folded, last) VALUES (?, ?)'),
      touch: db.prepare('UPDATE profile_stacks SET last = ? WHERE id = ?'),
      text: db.prepare('SELECT folded FROM profile_stacks WHERE id = ?'),
      bucket: db.prepare('SELECT samples, counts FROM profile_buckets WHERE zone_id = ? AND start = ?'),
      put: db.prepare('INSERT OR REPLACE INTO profile_buckets (zone_id, start, len, samples, counts) VALUES (?, ?, ?, ?, ?)'),
      summaries: db.prepare('SELECT start, len, samples FROM profile_buckets WHERE zone_id = ? AND start < ? AND start + len > ? ORDER BY start'),
      counts: db.prepare('SELECT counts FROM profile_buckets WHERE zone_id = ? AND start < ? AND start + len > ?'),
      oldest: db.prepare('SELECT MIN(start) AS t FROM profile_buckets'),
      firstOf: db.prepare('SELECT MIN(start) AS t FROM profile_buckets WHERE zone_id = ?'),
      expire: db.prepare('DELETE FROM profile_buckets WHERE start < ? RETURNING length(counts) AS b'),
      oldestStarts: db.prepare('SELECT DISTINCT start FROM profile_buckets ORDER BY start LIMIT ?'),
      gc: db.prepare('DELETE FROM profile_stacks WHERE last < ? RETURNING id, length(folded) AS b'),
      size: db.prepare('SELECT (SELECT COALESCE(SUM(length(counts)), 0) FROM profile_buckets) + (SELECT COALESCE(SUM(length(folded)), 0) FROM profile_stacks) AS b'),
    };
    this.stored = (this.q.size.get() as { b: number }).b;
  }

  /** Bytes the stored profiles take (bucket blobs and stack text; SQLite adds its pages). */
  bytes(): number {
    return this.stored;
  }

  /** One interval of a zone's profile: folded stacks and their samples. */
  add(node: string, zone: string, folded: Map<string, number>, now = Date.now()): void {
    const key = `${node}\0${zone}`;
    let z = this.zones.get(key);
    if (!z) this.zones.set(key, (z = { node, zone, pending: [] }));
    const start = now - (now % this.opts.bucketMs);
    if (z.current && z.current.start !== start) this.end(z);
    const b = (z.current ??= { start, samples: 0, stacks: new Map() });
    for (const [k, v] of folded) {
      if (!(v > 0)) continue;
      b.stacks.set(k, (b.stacks.get(k) ?? 0) + v);
      b.samples += v;
    }
  }

  /** Writes the buckets that have ended (all of them when closing), then applies retention. */
  flush(now = Date.now(), all = false): void {
    for (const z of this.zones.values()) {
      if (z.current && (all || z.current.start + this.opts.bucketMs <= now)) this.end(z);
      if (!z.pending.length) continue;
      const ok = this.attempt('write profile', () => this.db.transaction(() => {
        for (const b of z.pending) this.write(z, b);
        return true;
      })());
      if (ok !== undefined) z.pending = [];
      else if (z.pending.length > PENDING_MAX) this.lost += z.pending.splice(0, z.pending.length - PENDING_MAX).length;
    }
    this.attempt('expire profiles', () => this.expire(now));
  }

  /** Samples per bucket of a zone in [from, to), stored and current. */
  buckets(node: string, zone: string, from: number, to: number): BucketSummary[] {
    const out: BucketSummary[] = [];
    const id = this.zoneId(node, zone, false);
    if (id !== undefined) for (const r of this.q.summaries.all(id, to, from) as { start: number; samples: number }[]) out.push({ t: r.start, samples: r.samples });
    for (const b of this.unwritten(node, zone, from, to)) {
      const have = out.find((o) => o.t === b.start);
      if (have) have.samples += b.samples;
      else out.push({ t: b.start, samples: b.samples });
    }
    return out.sort((a, b) => a.t - b.t);
  }

  /** The folded stacks of a zone's buckets that overlap [from, to). */
  window(node: string, zone: string, from: number, to: number): Map<string, number> {
    const byId = new Map<number, number>();
    const id = this.zoneId(node, zone, false);
    if (id !== undefined) {
      for (const r of this.q.counts.all(id, to, from) as { counts: Buffer }[]) decodeCounts(r.counts, (s, n) => byId.set(s, (byId.get(s) ?? 0) + n));
    }
    const out = new Map<string, number>();
    for (const [s, n] of byId) {
      const text = this.textOf(s);
      // a stack collected while the window was read: its bucket went with it
      if (text !== undefined) out.set(text, (out.get(text) ?? 0) + n);
    }
    for (const b of this.unwritten(node, zone, from, to)) for (const [k, v] of b.stacks) out.set(k, (out.get(k) ?? 0) + v);
    return out;
  }

  /** When a zone's stored profile begins (null: nothing stored). */
  first(node: string, zone: string): number | null {
    const id = this.zoneId(node, zone, false);
    const stored = id === undefined ? null : (this.q.firstOf.get(id) as { t: number | null }).t;
    const z = this.zones.get(`${node}\0${zone}`);
    const mem = [...(z?.pending ?? []), ...(z?.current ? [z.current] : [])].map((b) => b.start);
    const all = [...(stored === null ? [] : [stored]), ...mem];
    return all.length ? Math.min(...all) : null;
  }

  close(now = Date.now()): void {
    this.flush(now, true);
  }

  private end(z: ZoneBuf): void {
    if (z.current && z.current.samples > 0) z.pending.push(z.current);
    z.current = undefined;
  }

  private unwritten(node: string, zone: string, from: number, to: number): Bucket[] {
    const z = this.zones.get(`${node}\0${zone}`);
    if (!z) return [];
    return [...z.pending, ...(z.current ? [z.current] : [])].filter((b) => b.start < to && b.start + this.opts.bucketMs > from);
  }

  private zoneId(node: string, zone: string, create: true): number;
  private zoneId(node: string, zone: string, create: false): number | undefined;
  private zoneId(node: string, zone: string, create: boolean): number | undefined {
    const key = `${node}\0${zone}`;
    let id = this.zoneIds.get(key);
    if (id !== undefined) return id;
    id = (this.q.zoneId.get(node, zone) as { id: number } | undefined)?.id;
    if (id === undefined && create) id = Number(this.q.addZone.run(node, zone).lastInsertRowid);
    if (id !== undefined) this.zoneIds.set(key, id);
    return id;
  }

  private textOf(id: number): string | undefined {
    let t = this.stackText.get(id);
    if (t === undefined) {
      t = (this.q.text.get(id) as { folded: string } | undefined)?.folded;
      if (t !== undefined) {
        if (this.stackText.size >= CACHE_MAX) this.stackText.clear();
        this.stackText.set(id, t);
      }
    }
    return t;
  }

  private intern(folded: string, at: number): number {
    let s = this.stackIds.get(folded);
    if (!s) {
      const row = this.q.stack.get(folded) as { id: number; last: number } | undefined;
      if (row) s = row;
      else {
        s = { id: Number(this.q.addStack.run(folded, at).lastInsertRowid), last: at };
        this.stored += Buffer.byteLength(folded);
      }
      if (this.stackIds.size >= CACHE_MAX) this.stackIds.clear();
      this.stackIds.set(folded, s);
    }
    if (s.last < at - LAST_USE_SLACK_MS) {
      this.q.touch.run(at, s.id);
      s.last = at;
    }
    return s.id;
  }

  /** One bucket into its row; a bucket written before (the server stopped mid-bucket) is added to. */
  private write(z: ZoneBuf, b: Bucket): void {
    const zid = this.zoneId(z.node, z.zone, true);
    const counts = new Map<number, number>();
    let samples = b.samples;
    const had = this.q.bucket.get(zid, b.start) as { samples: number; counts: Buffer } | undefined;
    if (had) {
      decodeCounts(had.counts, (s, n) => counts.set(s, n));
      samples += had.samples;
      this.stored -= had.counts.length;
    }
    for (const [k, v] of b.stacks) {
      const id = this.intern(k, b.start);
      counts.set(id, (counts.get(id) ?? 0) + v);
    }
    const blob = encodeCounts([...counts]);
    this.q.put.run(zid, b.start, this.opts.bucketMs, samples, blob);
    this.stored += blob.length;
  }

  private expire(now: number): void {
    let removed = false;
    for (const r of this.q.expire.all(now - this.opts.retentionMs) as { b: number }[]) {
      this.stored -= r.b;
      removed = true;
    }
    // over budget: whole bucket times go, oldest first, until a tenth of the budget is free
    // (so the next minute does not evict again)
    if (this.stored > this.opts.budgetBytes) {
      while (this.stored > this.opts.budgetBytes * 0.9) {
        const starts = this.q.oldestStarts.all(10) as { start: number }[];
        if (!starts.length) break;
        for (const r of this.q.expire.all(starts[starts.length - 1].start + 1) as { b: number }[]) {
          this.stored -= r.b;
          this.evicted++;
        }
        this.gc();
      }
      return;
    }
    if (removed) this.gc();
  }

  /** Stacks no remaining bucket can use: their recorded last use is older than every bucket
   * by more than it can lag. */
  private gc(): void {
    const oldest = (this.q.oldest.get() as { t: number | null }).t ?? Number.MAX_SAFE_INTEGER;
    let n = 0;
    for (const r of this.q.gc.all(oldest - LAST_USE_SLACK_MS - this.opts.bucketMs) as { id: number; b: number }[]) {
      this.stored -= r.b;
      this.stackText.delete(r.id);
      n++;
    }
    if (n) this.stackIds.clear();
  }
}
