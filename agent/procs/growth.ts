// "Which process grows": each listing of a zone is compared with the previous one, so asking
// twice a minute apart shows who gained memory in between. Bounded: one snapshot per zone.
import type { Proc } from '../../protocol/messages.js';

export class Growth {
  private readonly last = new Map<string, { time: number; rss: Map<number, number> }>();

  constructor(private readonly maxZones = 10_000) {}

  /** Adds rssDeltaBytes to each process seen last time; returns when that was. */
  compare(zone: string, procs: Proc[], now = Date.now()): { procs: Proc[]; previous?: number } {
    const before = this.last.get(zone);
    const out = procs.map((p) => {
      const was = before?.rss.get(p.pid);
      return was === undefined ? p : { ...p, rssDeltaBytes: p.rssBytes - was };
    });
    if (!before && this.last.size >= this.maxZones) this.last.delete(this.last.keys().next().value!);
    this.last.set(zone, { time: now, rss: new Map(procs.map((p) => [p.pid, p.rssBytes])) });
    return before ? { procs: out, previous: before.time } : { procs: out };
  }
}
