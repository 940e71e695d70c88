// Stored zone history: each node's history (server/history.ts) is written to the SQLite store
// about once a minute as one compact blob of that minute's frames, and read back when the node
// says hello after a restart, so the zone charts go on where they were. A row per point would
// cost the server more than the fan-in itself (1,000 nodes × ~280 points every 10 s); a blob
// per node per minute is a few inserts a second, spread over the minute.
//
// Series are named in a per-node dictionary row, written again only when the node names new
// series (zones come and go) or numbers them afresh; a chunk names the dictionary its ids mean.
// What leaves the history in memory (retention, the fleet's point budget) leaves the disk with
// the node's next chunk, so the store holds what a restart can bring back and no more.
import type { Fleet } from './fleet.js';
import { NodeHistory, type HistoryFrame, type HistorySeries } from './history.js';
import { StoreError, type Store } from './store.js';
import type { StoreFaults } from './store-faults.js';

export interface HistoryStoreOptions {
  /** how often a node's new frames are written (ms) */
  chunkMs: number;
  /** how often the store looks for nodes due (ms); at least twice per `chunkMs`, whatever is given */
  tickMs: number;
}

export const DEFAULT_HISTORY_STORE: HistoryStoreOptions = { chunkMs: 60_000, tickMs: 2000 };

/** Frames as one blob: per frame seq, time, n and whether its ids are the previous frame's
 * (float64 each), its n values (float64), then its n ids (uint32, padded to 8 bytes) unless
 * shared. Native byte order: a store moves with its server, not across architectures. */
export function encodeFrames(frames: readonly HistoryFrame[]): Buffer {
  let size = 0;
  frames.forEach((f, i) => {
    size += 32 + 8 * f.values.length;
    if (i === 0 || frames[i - 1].ids !== f.ids) size += 8 * Math.ceil(f.ids.length / 2);
  });
  const ab = new ArrayBuffer(size);
  let at = 0;
  frames.forEach((f, i) => {
    const n = f.ids.length;
    const shared = i > 0 && frames[i - 1].ids === f.ids;
    new Float64Array(ab, at, 4).set([f.seq, f.time, n, shared ? 1 : 0]);
    at += 32;
    new Float64Array(ab, at, n).set(f.values);
    at += 8 * n;
    if (!shared) {
      new Uint32Array(ab, at, n).set(f.ids);
      at += 8 * Math.ceil(n / 2);
    }
  });
  return Buffer.from(ab);
}

/** The frames of a blob; their ids arrays are shared as they were. Throws on a malformed blob. */
export function decodeFrames(blob: Uint8Array): HistoryFrame[] {
  // a copy, aligned for the typed arrays (SQLite's buffer may start anywhere)
  const ab = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength);
  const out: HistoryFrame[] = [];
  let at = 0;
  const need = (bytes: number) => {
    if (at + bytes > ab.byteLength) throw new Error(`history chunk cut short at byte ${at} of ${ab.byteLength}`);
  };
  while (at < ab.byteLength) {
    need(32);
    const [seq, time, n, shared] = new Float64Array(ab, at, 4);
    at += 32;
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`history chunk: bad point count ${n}`);
    need(8 * n);
    const values = new Float64Array(ab, at, n);
    at += 8 * n;
    let ids: Uint32Array;
    if (shared === 1) {
      const prev = out[out.length - 1];
      if (!prev || prev.ids.length !== n) throw new Error('history chunk: a shared ids array without its first frame');
      ids = prev.ids;
    } else {
      need(8 * Math.ceil(n / 2));
      ids = new Uint32Array(ab, at, n);
      at += 8 * Math.ceil(n / 2);
    }
    out.push({ seq, time, ids, values });
  }
  return out;
}

interface NodeMark {
  /** the dictionary row this node's chunks name now, and what it held */
  dict: number;
  generation: number;
  named: number;
  /** when its next chunk is due */
  due: number;
}

const HISTORY_TABLES = `
  CREATE TABLE IF NOT EXISTS history_dicts (node TEXT NOT NULL, id INTEGER NOT NULL, series TEXT NOT NULL, PRIMARY KEY (node, id));
  CREATE TABLE IF NOT EXISTS history_chunks (
    node TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, dict INTEGER NOT NULL,
    frames INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS history_chunks_node ON history_chunks (node, last);
  CREATE INDEX IF NOT EXISTS history_chunks_last ON history_chunks (last);
`;

export class HistoryStore {
  /** whether the tables exist (made on first use, see StoreFaults.tables) */
  private readonly tables: () => boolean;

  private readonly marks = new Map<string, NodeMark>();
  private fleet?: Fleet;
  private timer?: NodeJS.Timeout;
  private lastSweep = 0;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly faults: StoreFaults,
    /** history kept, as the fleet keeps it (s) */
    private readonly retentionS: number,
    readonly opts: HistoryStoreOptions = DEFAULT_HISTORY_STORE,
  ) {
    this.tables = faults.tables('create history tables', HISTORY_TABLES);
    this.tables();
  }

  private get db() {
    return this.store.db;
  }


  /** Starts writing the fleet's histories. */
  attach(fleet: Fleet): void {
    this.fleet = fleet;
    // looked at at least twice per write period, so a short period is kept
    const every = Math.min(this.opts.tickMs, Math.max(250, this.opts.chunkMs / 2));
    this.timer = setInterval(() => this.tick(), every).unref();
  }

  /** A node's history as stored (within the retention), or undefined when there is none or it
   * cannot be read (counted; the node then starts afresh). */
  restore(node: string, now = Date.now()): NodeHistory | undefined {
    if (!this.tables()) return undefined;
    let h: NodeHistory | undefined;
    let top: number | undefined;
    const from = now - this.retentionS * 1000;
    this.faults.attempt('read zone history', () => {
      const chunks = this.db.prepare('SELECT dict, data FROM history_chunks WHERE node = ? AND last >= ? ORDER BY rowid').all(node, from) as { dict: number; data: Buffer }[];
      top = this.topDict(node);
      if (!chunks.length) return;
      const dicts = new Map<number, HistorySeries[]>();
      const dictOf = (id: number) => {
        let d = dicts.get(id);
        if (!d) {
          const r = this.db.prepare('SELECT series FROM history_dicts WHERE node = ? AND id = ?').get(node, id) as { series: string } | undefined;
          if (!r) throw new Error(`history of node '${node}': dictionary ${id} is missing`);
          d = (JSON.parse(r.series) as [string, string, string][]).map(([f, zone, key]) => ({ f, zone, key }));
          dicts.set(id, d);
        }
        return d;
      };
      const back = new NodeHistory();
      for (const c of chunks) {
        const names = dictOf(c.dict);
        // each ids array once (frames share them), from the dictionary's numbering to this history's
        const mapped = new Map<Uint32Array, Uint32Array>();
        for (const f of decodeFrames(c.data)) {
          if (f.time < from) continue;
          let ids = mapped.get(f.ids);
          if (!ids) {
            ids = f.ids.map((id) => {
              const s = names[id];
              if (!s) throw new Error(`history of node '${node}': series ${id} is not in dictionary ${c.dict}`);
              return back.idOf(s.f, s.zone, s.key);
            });
            mapped.set(f.ids, ids);
          }
          back.restore(f.seq, f.time, ids, f.values);
        }
      }
      h = back;
    });
    // its next chunk names its series afresh, in a dictionary of its own (unknown when the
    // store could not be read: then the next tick asks again)
    if (top === undefined) this.marks.delete(node);
    else this.marks.set(node, this.newMark(top, now));
    return h && h.length ? h : undefined;
  }

  /** A node's first mark: due at a random point of the period, so a fleet's writes (a restarted
   * server's nodes all say hello within seconds) do not all fall due at once. */
  private newMark(dict: number, now: number): NodeMark {
    return { dict, generation: -1, named: 0, due: now + Math.random() * this.opts.chunkMs };
  }

  private topDict(node: string): number {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS id FROM history_dicts WHERE node = ?').get(node) as { id: number }).id;
  }

  /** Writes the chunks that are due (all of them when `all`), in one transaction. */
  tick(now = Date.now(), all = false): void {
    if (!this.fleet || this.closed || !this.tables()) return;
    const due: { node: string; h: NodeHistory; mark: NodeMark; frames: HistoryFrame[] }[] = [];
    for (const n of this.fleet.nodes.values()) {
      let mark = this.marks.get(n.node);
      if (!mark) {
        // a new dictionary row must not replace one that stored chunks name
        const dict = this.faults.attempt('read zone history', () => this.topDict(n.node));
        if (dict === undefined) continue;
        this.marks.set(n.node, (mark = this.newMark(dict, now)));
      }
      // (a due time more than a period ahead is from before the clock stepped back: due now)
      if (!all && now < mark.due && mark.due - now <= this.opts.chunkMs) continue;
      mark.due = now + this.opts.chunkMs;
      const frames = n.history.takeUnstored();
      if (frames.length) due.push({ node: n.node, h: n.history, mark, frames });
    }
    const sweep = now - this.lastSweep >= 60_000 || now < this.lastSweep;
    if (!due.length && !sweep) return;
    const wrote = this.faults.attempt('write zone history', () =>
      this.db.transaction(() => {
        const marks = due.map((d) => this.write(d.node, d.h, d.mark, d.frames));
        if (sweep) this.sweep(now);
        return marks;
      })(),
    );
    if (!wrote) {
      // kept in memory (the history still holds them) and tried again with the node's next chunk
      for (const d of due) d.h.giveBack(d.frames);
      return;
    }
    due.forEach((d, i) => Object.assign(d.mark, wrote[i]));
    if (sweep) {
      this.lastSweep = now;
      // nodes the fleet forgot (--forget-after): a hello reads their mark from the store again
      for (const node of this.marks.keys()) if (!this.fleet.nodes.has(node)) this.marks.delete(node);
    }
  }

  /** One node's chunk (and its dictionary, when the series changed); returns its new mark. */
  private write(node: string, h: NodeHistory, mark: NodeMark, frames: HistoryFrame[]): Partial<NodeMark> {
    let { dict, generation, named } = mark;
    if (generation !== h.generation || h.series.length > named) {
      dict++;
      generation = h.generation;
      named = h.series.length;
      const series = JSON.stringify(h.series.slice(0, named).map((s) => [s.f, s.zone, s.key]));
      this.db.prepare('INSERT OR REPLACE INTO history_dicts (node, id, series) VALUES (?, ?, ?)').run(node, dict, series);
    }
    let first = Infinity;
    let last = -Infinity;
    for (const f of frames) (first = Math.min(first, f.time)), (last = Math.max(last, f.time));
    this.db.prepare('INSERT INTO history_chunks (node, first, last, dict, frames, data) VALUES (?, ?, ?, ?, ?, ?)').run(node, first, last, dict, frames.length, encodeFrames(frames));
    // what left the history in memory (retention, the fleet's budget) leaves the disk
    if (h.length) this.db.prepare('DELETE FROM history_chunks WHERE node = ? AND last < ?').run(node, h.frames[0].time);
    return { dict, generation, named };
  }

  /** Chunks past the retention go (nodes that never came back); so do dictionaries no chunk
   * names any more, but never a node's newest (its next chunk may name it). */
  private sweep(now: number): void {
    this.db.prepare('DELETE FROM history_chunks WHERE last < ?').run(now - this.retentionS * 1000);
    this.db.exec(`DELETE FROM history_dicts WHERE
      id < (SELECT max(id) FROM history_dicts d WHERE d.node = history_dicts.node)
      AND NOT EXISTS (SELECT 1 FROM history_chunks c WHERE c.node = history_dicts.node AND c.dict = history_dicts.id)`);
  }

  /** Bytes of zone history stored (for the benchmark and the README's figures). */
  storedBytes(): number {
    if (!this.tables()) return 0;
    try {
      return (this.db.prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM history_chunks').get() as { n: number }).n;
    } catch (e) {
      throw new StoreError(this.store.path, 'read zone history', e);
    }
  }

  /** Writes every node's frames not yet written, and stops. */
  close(): void {
    clearInterval(this.timer);
    this.tick(Date.now(), true);
    this.closed = true;
  }
}
