// Continuous profiles: what the always-on cpu-profile of each zone sampled, kept per bucket
// (a minute by default) in the server's SQLite database, so the zone page can show any window
// of the last hours without starting a trace.
//
// Storage: every frame name is interned once (profile_frames), every stack once
// (profile_stacks: its frames' ids as varints, its program at the root), both found by a
// 48-bit hash of their content (an index of 8 bytes a row, where a unique text index would
// store every stack twice); a bucket is one row per zone with its sample total and the counts
// of the stacks it saw, as a blob of varint pairs (stack id delta, count) sorted by id — a few
// bytes per distinct stack per minute. The current bucket of each zone is summed in memory and
// written when it ends. Retention by age and a size budget: the oldest buckets go first, and
// stacks no bucket uses any more go with them.
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';

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
/** interned stacks and frames remembered in memory; past it a cache starts over */
const CACHE_MAX = 20_000;
/** what SQLite spends on a row besides its blob or text: the row header, its hash index entry */
const ROW_BYTES = 24;
/** frames no stack uses any more are looked for at most this often (it reads every stack) */
const FRAME_GC_MS = 10 * 60_000;

/** 48 bits of SHA-1: an exact integer in both JavaScript and SQLite; equal content is checked too */
const hash48 = (b: string | Uint8Array) => createHash('sha1').update(b).digest().readUIntBE(0, 6);
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

function encodeIds(ids: number[]): Buffer {
  const out: number[] = [];
  for (const id of ids) putVarint(out, id);
  return Buffer.from(out);
}

function decodeIds(b: Uint8Array): number[] {
  const out: number[] = [];
  let v = 0;
  let mul = 1;
  for (const c of b) {
    v += (c & 0x7f) * mul;
    if (c < 0x80) {
      out.push(v);
      v = 0;
      mul = 1;
    } else mul *= 0x80;
  }
  return out;
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
  private readonly frameIds = new Map<string, number>();
  private readonly frameNames = new Map<number, string>();
  private frameGcAt = 0;
  /** bytes stored: bucket blobs, interned stacks and frames, with SQLite's per-row cost */
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
    // the first layout kept each stack as text under a unique index: twice its size
    const cols = db.prepare("SELECT name FROM pragma_table_info('profile_stacks')").all() as { name: string }[];
    if (cols.some((c) => c.name === 'folded')) db.exec('DROP TABLE profile_stacks; DROP TABLE IF EXISTS profile_buckets;');
    db.exec(`
      CREATE TABLE IF NOT EXISTS profile_zones (
        id INTEGER PRIMARY KEY, node TEXT NOT NULL, zone TEXT NOT NULL, UNIQUE (node, zone));
      CREATE TABLE IF NOT EXISTS profile_frames (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, name TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS profile_frames_hash ON profile_frames (hash);
      CREATE TABLE IF NOT EXISTS profile_stacks (
        id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, frames BLOB NOT NULL, last INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS profile_stacks_hash ON profile_stacks (hash);
      -- a rowid table: its rows (kilobytes of counts) would spill into half-empty overflow
      -- pages in a WITHOUT ROWID one, doubling the file
      CREATE TABLE IF NOT EXISTS profile_buckets (
        zone_id INTEGER NOT NULL, start INTEGER NOT NULL, len INTEGER NOT NULL,
        samples INTEGER NOT NULL, counts BLOB NOT NULL, UNIQUE (zone_id, start));
      CREATE INDEX IF NOT EXISTS profile_buckets_start ON profile_buckets (start);
    `);
    this.q = {
      zoneId: db.prepare('SELECT id FROM profile_zones WHERE node = ? AND zone = ?'),
      addZone: db.prepare('INSERT INTO profile_zones (node, zone) VALUES (?, ?)'),
      frame: db.prepare('SELECT id FROM profile_frames WHERE hash = ? AND name = ?'),
      addFrame: db.prepare('INSERT INTO profile_frames (hash, name) VALUES (?, ?)'),
      frameName: db.prepare('SELECT name FROM profile_frames WHERE id = ?'),
      stack: db.prepare('SELECT id, last FROM profile_stacks WHERE hash = ? AND frames = ?'),
      addStack: db.prepare('INSERT INTO profile_stacks (hash, frames, last) VALUES (?, ?, ?)'),
      touch: db.prepare('UPDATE profile_stacks SET last = ? WHERE id = ?'),
      stackFrames: db.prepare('SELECT frames FROM profile_stacks WHERE id = ?'),
      allStackFrames: db.prepare('SELECT frames FROM profile_stacks'),
      bucket: db.prepare('SELECT samples, counts FROM profile_buckets WHERE zone_id = ? AND start = ?'),
      put: db.prepare('INSERT OR REPLACE INTO profile_buckets (zone_id, start, len, samples, counts) VALUES (?, ?, ?, ?, ?)'),
      summaries: db.prepare('SELECT start, len, samples FROM profile_buckets WHERE zone_id = ? AND start < ? AND start + len > ? ORDER BY start'),
      counts: db.prepare('SELECT counts FROM profile_buckets WHERE zone_id = ? AND start < ? AND start + len > ?'),
      oldest: db.prepare('SELECT MIN(start) AS t FROM profile_buckets'),
      firstOf: db.prepare('SELECT MIN(start) AS t FROM profile_buckets WHERE zone_id = ?'),
      expire: db.prepare(`DELETE FROM profile_buckets WHERE start < ? RETURNING length(counts) + ${ROW_BYTES} AS b`),
      oldestStarts: db.prepare('SELECT DISTINCT start FROM profile_buckets ORDER BY start LIMIT ?'),
      gc: db.prepare(`DELETE FROM profile_stacks WHERE last < ? RETURNING id, length(frames) + ${ROW_BYTES} AS b`),
      frameIds: db.prepare('SELECT id FROM profile_frames'),
      dropFrame: db.prepare(`DELETE FROM profile_frames WHERE id = ? RETURNING length(name) + ${ROW_BYTES} AS b`),
      size: db.prepare(`SELECT
        (SELECT COALESCE(SUM(length(counts) + ${ROW_BYTES}), 0) FROM profile_buckets) +
        (SELECT COALESCE(SUM(length(frames) + ${ROW_BYTES}), 0) FROM profile_stacks) +
        (SELECT COALESCE(SUM(length(name) + ${ROW_BYTES}), 0) FROM profile_frames) AS b`),
    };
    this.stored = (this.q.size.get() as { b: number }).b;
  }

  /** Bytes the stored profiles take (bucket blobs and stack text; SQLite adds its pages). */
  bytes(): number {
    return this.stored;
  }

  /** One interval of a zone's profile: folded stacks and their samples, taken at `at`. */
  add(node: string, zone: string, folded: Map<string, number>, at = Date.now()): void {
    const key = `${node}\0${zone}`;
    let z = this.zones.get(key);
    if (!z) this.zones.set(key, (z = { node, zone, pending: [] }));
    const start = at - (at % this.opts.bucketMs);
    let b: Bucket | undefined;
    if (!z.current || start > z.current.start) {
      this.end(z);
      b = z.current = { start, samples: 0, stacks: new Map() };
    } else if (start === z.current.start) b = z.current;
    else {
      // a late interval of a bucket that has ended: written (and added to its row) at the next flush
      b = z.pending.find((p) => p.start === start);
      if (!b) z.pending.push((b = { start, samples: 0, stacks: new Map() }));
    }
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
        for (const b of z.pending) if (b.samples > 0) this.write(z, b);
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
      const row = this.q.stackFrames.get(id) as { frames: Buffer } | undefined;
      if (!row) return undefined;
      const names: string[] = [];
      for (const f of decodeIds(row.frames)) {
        let n = this.frameNames.get(f);
        if (n === undefined) {
          n = (this.q.frameName.get(f) as { name: string } | undefined)?.name ?? '?';
          if (this.frameNames.size >= CACHE_MAX) this.frameNames.clear();
          this.frameNames.set(f, n);
        }
        names.push(n);
      }
      t = names.join(';');
      if (this.stackText.size >= CACHE_MAX) this.stackText.clear();
      this.stackText.set(id, t);
    }
    return t;
  }

  private frameId(name: string): number {
    let id = this.frameIds.get(name);
    if (id === undefined) {
      const h = hash48(name);
      id = (this.q.frame.get(h, name) as { id: number } | undefined)?.id;
      if (id === undefined) {
        id = Number(this.q.addFrame.run(h, name).lastInsertRowid);
        this.stored += Buffer.byteLength(name) + ROW_BYTES;
      }
      if (this.frameIds.size >= CACHE_MAX) this.frameIds.clear();
      this.frameIds.set(name, id);
    }
    return id;
  }

  private intern(folded: string, at: number): number {
    let s = this.stackIds.get(folded);
    if (!s) {
      const frames = encodeIds(folded.split(';').map((f) => this.frameId(f)));
      const h = hash48(frames);
      const row = this.q.stack.get(h, frames) as { id: number; last: number } | undefined;
      if (row) s = row;
      else {
        s = { id: Number(this.q.addStack.run(h, frames, at).lastInsertRowid), last: at };
        this.stored += frames.length + ROW_BYTES;
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
    this.stored += blob.length + (had ? 0 : ROW_BYTES);
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
        // frames too: over budget the space is needed now
        this.gc(now, true);
      }
      return;
    }
    if (removed) this.gc(now);
  }

  /** Stacks no remaining bucket can use: their recorded last use is older than every bucket
   * by more than it can lag. */
  private gc(now: number, force = false): void {
    const oldest = (this.q.oldest.get() as { t: number | null }).t ?? Number.MAX_SAFE_INTEGER;
    let n = 0;
    for (const r of this.q.gc.all(oldest - LAST_USE_SLACK_MS - this.opts.bucketMs) as { id: number; b: number }[]) {
      this.stored -= r.b;
      this.stackText.delete(r.id);
      n++;
    }
    if (n) this.stackIds.clear();
    else if (!force) return;
    // frames only the deleted stacks used: found by reading every stack, so not every time
    if (!force && now - this.frameGcAt < FRAME_GC_MS) return;
    this.frameGcAt = now;
    const used = new Set<number>();
    for (const r of this.q.allStackFrames.iterate() as Iterable<{ frames: Buffer }>) for (const f of decodeIds(r.frames)) used.add(f);
    const unused = (this.q.frameIds.all() as { id: number }[]).filter((r) => !used.has(r.id));
    for (const { id } of unused) for (const r of this.q.dropFrame.all(id) as { b: number }[]) this.stored -= r.b;
    if (unused.length) {
      this.frameIds.clear();
      this.frameNames.clear();
    }
  }
}
