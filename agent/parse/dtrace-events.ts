// Outstanding allocations by stack from a DTrace event stream. DTrace cannot keep a stack in a
// variable to charge a free() back to its malloc() stack, so memleak.d prints one event per
// call — `zs_alloc ADDR SIZE` followed by its ustack() frames, `zs_free ADDR` — and the join
// happens here, as the classic DTrace leak scripts do it in a post-processor. Each interval
// becomes stack records whose value is the change in bytes still held by that stack (frees
// subtract), so the server's merged sum is what the trace's allocations still hold.
import type { StackRecord, TraceEvent } from '../../protocol/records.js';

export interface AllocJoinOptions {
  /** live allocations tracked at most; beyond, new ones are counted and not tracked */
  maxLive?: number;
  /** the aggregation name the records carry */
  agg?: string;
}

const ALLOC = /^zs_alloc\s+(?:0x)?([0-9a-fA-F]+)\s+(\d+)\s*$/;
const FREE = /^zs_free\s+(?:0x)?([0-9a-fA-F]+)\s*$/;

export class AllocJoin {
  private readonly live = new Map<string, { size: number; key: string }>();
  private readonly stacks = new Map<string, string[]>();
  private untracked = 0;
  private readonly maxLive: number;
  private readonly agg: string;

  constructor(o: AllocJoinOptions = {}) {
    this.maxLive = o.maxLive ?? 1_000_000;
    this.agg = o.agg ?? 'bytes';
  }

  /** One interval's text (between interval markers) → its records and events. */
  interval(text: string): { records: StackRecord[]; events: TraceEvent[] } {
    const delta = new Map<string, number>();
    const lines = text.split('\n');
    const untrackedBefore = this.untracked;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      const a = ALLOC.exec(line);
      if (a) {
        const frames: string[] = [];
        // the ustack() frames follow, indented; a blank line may come first and last
        let j = i + 1;
        while (j < lines.length && lines[j].trim() === '' && frames.length === 0 && j - i < 3) j++;
        for (; j < lines.length; j++) {
          const f = lines[j].trim();
          if (!f || f.startsWith('zs_') || f.startsWith('=== zonescope')) break;
          frames.push(f);
        }
        i = j - 1;
        this.alloc(a[1].toLowerCase(), Number(a[2]), frames, delta);
        continue;
      }
      const f = FREE.exec(line);
      if (f) this.free(f[1].toLowerCase(), delta);
    }
    const records: StackRecord[] = [];
    for (const [key, value] of delta) {
      if (value !== 0) records.push({ kind: 'stack', agg: this.agg, keys: [], stack: this.stacks.get(key)!, kernel: 0, value });
    }
    const events: TraceEvent[] = [];
    const lost = this.untracked - untrackedBefore;
    if (lost) events.push({ kind: 'warning', count: lost, message: `${lost} allocation(s) not tracked: more than ${this.maxLive} live allocations` });
    return { records, events };
  }

  private alloc(addr: string, size: number, frames: string[], delta: Map<string, number>): void {
    if (!frames.length) frames = ['[unknown]'];
    const key = frames.join('\n');
    // a reused address whose free we never saw: the old allocation is gone, whatever freed it
    const old = this.live.get(addr);
    if (old) delta.set(old.key, (delta.get(old.key) ?? 0) - old.size);
    else if (this.live.size >= this.maxLive) {
      this.untracked++;
      return;
    }
    if (!this.stacks.has(key)) this.stacks.set(key, frames);
    this.live.set(addr, { size, key });
    delta.set(key, (delta.get(key) ?? 0) + size);
  }

  private free(addr: string, delta: Map<string, number>): void {
    const a = this.live.get(addr);
    if (!a) return; // allocated before the trace began: not ours to count
    this.live.delete(addr);
    delta.set(a.key, (delta.get(a.key) ?? 0) - a.size);
  }
}
