// Stored traces: every person's trace goes to the SQLite store as it arrives — its summary,
// events, per-interval history and merged result — so it opens after a restart. Writes are
// queued and go out together about once a second in one transaction, so a busy server never
// waits on the disk per frame; a write that fails (a full disk) keeps its queue for the next
// attempt while the trace is served from memory. Old traces go by age, then by total size.
//
// The merged result (up to 20,000 records) is written when the trace ends, not per interval:
// a trace's row holds the last merged snapshot and the last frame row it covers, so a trace
// cut short by a crash is rebuilt from that snapshot plus the frames stored after it. Frames
// that leave the history budget are deleted only with a snapshot that covers them.
import type { ScriptMeta } from '../scripts/catalog.js';
import type { TraceEvent, TraceRecord } from '../protocol/records.js';
import { StoreError, type Store } from './store.js';
import type { StoreFaults } from './store-faults.js';

export type TraceStatus = 'starting' | 'running' | 'done' | 'partial' | 'stopped' | 'failed';
export const ENDED = new Set<TraceStatus>(['done', 'partial', 'stopped', 'failed']);

/** What a trace is, apart from its records: what the list shows, and what is stored as its summary. */
export interface TraceMeta {
  id: string;
  node: string;
  zone: string;
  script: string;
  params: Record<string, number | string>;
  durationS: number;
  output: ScriptMeta['output'];
  unit: string;
  status: TraceStatus;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  intervals: number;
  error?: string;
  /** why a partial (or stopped) trace is incomplete, one sentence each */
  reasons: string[];
  /** samples the script counted whose data did not arrive (samples-lost events) */
  samplesLost: number;
  drops: Record<string, number>;
  errors: number;
  /** records not merged because the budget was full */
  truncated: number;
  /** intervals dropped from the history to stay in budget (still in the merged result) */
  evicted: number;
  /** the owner of the scoped token that started it: only that tenant's tokens see it (tenant-scope.ts) */
  owner?: string;
  /** the zone's owner when it started, for the audit log */
  zoneOwner?: string;
}

/** What the store reads of a live trace when it writes it. */
export interface StorableTrace extends TraceMeta {
  events: TraceEvent[];
  merged: Map<string, TraceRecord>;
}

/** A stored trace as read back: the frames after `mergedThrough` are not in `merged` yet. */
export interface StoredTrace {
  meta: TraceMeta;
  events: TraceEvent[];
  merged: TraceRecord[];
  frames: { row: number; interval: number; time: number; bytes: number; records: TraceRecord[] }[];
  mergedThrough: number;
  /** what the store holds of it, to go on writing it */
  state: { frameBytes: number; mergedBytes: number; lastRow: number; updated: number };
}

export interface TraceRetention {
  /** ended traces older than this go (ms) */
  maxAgeMs: number;
  /** stored traces over this many bytes: the oldest ended ones go */
  budgetBytes: number;
}

export const DEFAULT_TRACE_RETENTION: TraceRetention = { maxAgeMs: 7 * 86_400_000, budgetBytes: 1024 ** 3 };

const META_KEYS = ['id', 'node', 'zone', 'script', 'params', 'durationS', 'output', 'unit', 'status', 'createdAt', 'startedAt', 'endedAt', 'intervals', 'error', 'reasons', 'samplesLost', 'drops', 'errors', 'truncated', 'evicted', 'owner', 'zoneOwner'] as const;
export const metaOf = (t: TraceMeta): TraceMeta => Object.fromEntries(META_KEYS.filter((k) => t[k] !== undefined).map((k) => [k, t[k]])) as unknown as TraceMeta;

/** A merged snapshot is written at the end, and meanwhile at most this often when frames left the history. */
const SNAPSHOT_EVERY_MS = 30_000;
/** at most this much frame text per transaction; the rest follows at once, in the next one */
const BATCH_BYTES = 8 * 1024 * 1024;

interface Entry {
  t: StorableTrace;
  frames: { interval: number; time: number; json: string }[];
  /** intervals that left the history: their rows go with the next snapshot */
  evicted: number[];
  /** a frame left the history before it was written: only a snapshot has it now */
  lostUnwritten: boolean;
  dirty: boolean;
  snapshotAt: number;
  frameBytes: number;
  mergedBytes: number;
  lastRow: number;
}

const TRACE_TABLES = `
  CREATE TABLE IF NOT EXISTS traces (
    id TEXT PRIMARY KEY, node TEXT NOT NULL, zone TEXT NOT NULL, created INTEGER NOT NULL,
    ended INTEGER, status TEXT NOT NULL, summary TEXT NOT NULL, events TEXT NOT NULL,
    merged TEXT, merged_through INTEGER NOT NULL DEFAULT 0,
    frame_bytes INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS traces_created ON traces (created);
  CREATE TABLE IF NOT EXISTS trace_frames (
    id INTEGER PRIMARY KEY, trace TEXT NOT NULL, interval INTEGER NOT NULL, time INTEGER NOT NULL,
    bytes INTEGER NOT NULL, records TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS trace_frames_trace ON trace_frames (trace, interval);
`;

export class TraceStore {
  /** whether the tables exist (made on first use, see StoreFaults.tables) */
  private readonly tables: () => boolean;

  private readonly entries = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private flushing = false;
  private soon?: NodeJS.Immediate;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly faults: StoreFaults,
    readonly retention: TraceRetention = DEFAULT_TRACE_RETENTION,
    flushEveryMs = 1000,
  ) {
    this.tables = faults.tables('create trace tables', TRACE_TABLES);
    this.tables();
    if (flushEveryMs > 0) this.timer = setInterval(() => this.flush(), flushEveryMs).unref();
  }

  private get db() {
    return this.store.db;
  }


  private read<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw e instanceof StoreError ? e : new StoreError(this.store.path, op, e);
    }
  }

  // ---- the write queue: what the trace manager tells it ----

  private entry(t: StorableTrace): Entry {
    let e = this.entries.get(t.id);
    if (!e) this.entries.set(t.id, (e = { t, frames: [], evicted: [], lostUnwritten: false, dirty: true, snapshotAt: 0, frameBytes: 0, mergedBytes: 0, lastRow: 0 }));
    return e;
  }

  /** The trace changed (status, events, counts): its summary is written with the next batch;
   * an end is written at once, so a trace seen "done" is stored done even if the server dies
   * the next moment. */
  changed(t: StorableTrace): void {
    this.entry(t).dirty = true;
    if (ENDED.has(t.status) && !this.soon) {
      this.soon = setImmediate(() => {
        this.soon = undefined;
        this.flush();
      });
    }
  }

  /** A frame of the trace, as the JSON text of its records (already made to count its bytes). */
  frame(t: StorableTrace, interval: number, time: number, json: string): void {
    const e = this.entry(t);
    e.frames.push({ interval, time, json });
    e.dirty = true;
  }

  /** An interval left the trace's history (its budget). */
  evicted(t: StorableTrace, interval: number): void {
    const e = this.entry(t);
    const before = e.frames.length;
    e.frames = e.frames.filter((f) => f.interval !== interval);
    if (e.frames.length !== before) e.lostUnwritten = true;
    e.evicted.push(interval);
    e.dirty = true;
  }

  /** A trace read back from the store that will be written again (a trace the restart cut short). */
  adopt(t: StorableTrace, state: StoredTrace['state']): void {
    this.entries.set(t.id, { t, frames: [], evicted: [], lostUnwritten: false, dirty: true, snapshotAt: 0, ...state });
  }

  /** Whether the trace has writes the store has not taken yet (kept in memory until it has). */
  unwritten(id: string): boolean {
    return this.entries.get(id)?.dirty ?? false;
  }

  /** Writes what is queued, in one transaction per ~8 MiB; on failure keeps it for the next try. */
  flush(now = Date.now()): void {
    if (this.flushing || this.closed) return;
    const batch: Entry[] = [];
    let bytes = 0;
    for (const e of this.entries.values()) {
      if (!e.dirty) continue;
      batch.push(e);
      for (const f of e.frames) bytes += f.json.length;
      if (bytes > BATCH_BYTES) break;
    }
    if (!batch.length || !this.tables()) return;
    this.flushing = true;
    try {
      const wrote = this.faults.attempt('write traces', () => this.db.transaction(() => batch.map((e) => this.write(e, now)))());
      if (!wrote) return;
      batch.forEach((e, i) => {
        const { snapshot, ...held } = wrote[i];
        Object.assign(e, held);
        e.frames = [];
        e.dirty = false;
        if (snapshot) {
          e.snapshotAt = now;
          e.evicted = [];
          e.lostUnwritten = false;
          if (ENDED.has(e.t.status)) this.entries.delete(e.t.id);
        }
      });
    } finally {
      this.flushing = false;
    }
    if (bytes > BATCH_BYTES && !this.soon) this.soon = setImmediate(() => ((this.soon = undefined), this.flush()));
  }

  /** One trace's queued writes; returns what the store then holds of it (kept by the caller
   * only once the transaction commits) and whether a merged snapshot was written. */
  private write(e: Entry, now: number): { snapshot: boolean; frameBytes: number; mergedBytes: number; lastRow: number } {
    const t = e.t;
    const insert = this.db.prepare('INSERT INTO trace_frames (trace, interval, time, bytes, records) VALUES (?, ?, ?, ?, ?)');
    let frameBytes = e.frameBytes;
    let lastRow = e.lastRow;
    for (const f of e.frames) {
      lastRow = Number(insert.run(t.id, f.interval, f.time, f.json.length, f.json).lastInsertRowid);
      frameBytes += f.json.length;
    }
    const snapshot = ENDED.has(t.status) || e.lostUnwritten || (e.evicted.length > 0 && now - e.snapshotAt >= SNAPSHOT_EVERY_MS);
    let merged: string | null = null;
    if (snapshot) {
      merged = JSON.stringify([...t.merged.values()]);
      const sum = this.db.prepare('SELECT coalesce(sum(bytes), 0) AS n FROM trace_frames WHERE trace = ? AND interval = ?');
      const del = this.db.prepare('DELETE FROM trace_frames WHERE trace = ? AND interval = ?');
      for (const iv of new Set(e.evicted)) {
        frameBytes -= (sum.get(t.id, iv) as { n: number }).n;
        del.run(t.id, iv);
      }
    }
    const summary = JSON.stringify(metaOf(t));
    const events = JSON.stringify(t.events);
    const mergedBytes = merged === null ? e.mergedBytes : merged.length;
    const total = frameBytes + summary.length + events.length + mergedBytes;
    this.db
      .prepare(
        `INSERT INTO traces (id, node, zone, created, ended, status, summary, events, merged, merged_through, frame_bytes, bytes, updated)
         VALUES (@id, @node, @zone, @created, @ended, @status, @summary, @events, @merged, @through, @frameBytes, @total, @now)
         ON CONFLICT(id) DO UPDATE SET ended = excluded.ended, status = excluded.status, summary = excluded.summary,
           events = excluded.events, merged = coalesce(excluded.merged, merged),
           merged_through = CASE WHEN excluded.merged IS NULL THEN merged_through ELSE excluded.merged_through END,
           frame_bytes = excluded.frame_bytes, bytes = excluded.bytes, updated = excluded.updated`,
      )
      .run({ id: t.id, node: t.node, zone: t.zone, created: t.createdAt, ended: ENDED.has(t.status) ? (t.endedAt ?? now) : null, status: t.status, summary, events, merged, through: snapshot ? lastRow : 0, frameBytes, total, now });
    return { snapshot, frameBytes, mergedBytes, lastRow };
  }

  // ---- reading ----

  /** Stored summaries, newest first. */
  summaries(limit: number): TraceMeta[] {
    if (!this.tables()) return [];
    const rows = this.read('read traces', () => this.db.prepare('SELECT summary FROM traces ORDER BY created DESC LIMIT ?').all(limit)) as { summary: string }[];
    return rows.flatMap((r) => {
      try {
        return [JSON.parse(r.summary) as TraceMeta];
      } catch {
        return [];
      }
    });
  }

  /** Traces the store holds as not ended: the server stopped while they ran. */
  unfinished(): string[] {
    if (!this.tables()) return [];
    return (this.read('read traces', () => this.db.prepare('SELECT id FROM traces WHERE ended IS NULL').all()) as { id: string }[]).map((r) => r.id);
  }

  load(id: string): StoredTrace | undefined {
    if (!this.tables()) return undefined;
    return this.read('read trace', () => {
      const r = this.db.prepare('SELECT summary, events, merged, merged_through, frame_bytes, updated FROM traces WHERE id = ?').get(id) as
        | { summary: string; events: string; merged: string | null; merged_through: number; frame_bytes: number; updated: number }
        | undefined;
      if (!r) return undefined;
      const frames = (this.db.prepare('SELECT id, interval, time, bytes, records FROM trace_frames WHERE trace = ? ORDER BY id').all(id) as { id: number; interval: number; time: number; bytes: number; records: string }[]).map((f) => ({
        row: f.id,
        interval: f.interval,
        time: f.time,
        bytes: f.bytes,
        records: JSON.parse(f.records) as TraceRecord[],
      }));
      return {
        meta: JSON.parse(r.summary) as TraceMeta,
        events: JSON.parse(r.events) as TraceEvent[],
        merged: r.merged === null ? [] : (JSON.parse(r.merged) as TraceRecord[]),
        frames,
        mergedThrough: r.merged_through,
        state: { frameBytes: r.frame_bytes, mergedBytes: r.merged?.length ?? 0, lastRow: frames.at(-1)?.row ?? r.merged_through, updated: r.updated },
      };
    });
  }

  /** Ended traces past the age limit, then the oldest ended ones while all of them are over
   * the byte budget, are deleted; returns their ids by reason. */
  expire(now = Date.now()): { age: string[]; budget: string[] } {
    const gone = { age: [] as string[], budget: [] as string[] };
    if (!this.tables()) return gone;
    const drop = (id: string) => {
      this.db.prepare('DELETE FROM trace_frames WHERE trace = ?').run(id);
      this.db.prepare('DELETE FROM traces WHERE id = ?').run(id);
    };
    const done = this.faults.attempt('expire traces', () =>
      this.db.transaction(() => {
        const old = this.db.prepare('SELECT id FROM traces WHERE ended IS NOT NULL AND ended < ? ORDER BY created').all(now - this.retention.maxAgeMs) as { id: string }[];
        for (const { id } of old) (drop(id), gone.age.push(id));
        let total = (this.db.prepare('SELECT coalesce(sum(bytes), 0) AS n FROM traces').get() as { n: number }).n;
        if (total <= this.retention.budgetBytes) return true;
        for (const r of this.db.prepare('SELECT id, bytes FROM traces WHERE ended IS NOT NULL ORDER BY created').all() as { id: string; bytes: number }[]) {
          if (total <= this.retention.budgetBytes) break;
          drop(r.id);
          gone.budget.push(r.id);
          total -= r.bytes;
        }
        return true;
      })(),
    );
    // a transaction that failed deleted nothing
    return done === undefined ? { age: [], budget: [] } : gone;
  }

  /** Writes what is queued (in as many transactions as it takes) and stops writing. */
  close(): void {
    clearInterval(this.timer);
    if (this.soon) clearImmediate(this.soon);
    for (let i = 0; i < 1000 && [...this.entries.values()].some((e) => e.dirty); i++) {
      const before = [...this.entries.values()].filter((e) => e.dirty).length;
      this.flush();
      if ([...this.entries.values()].filter((e) => e.dirty).length >= before) break; // failing: nothing more to do
    }
    this.closed = true;
  }
}
