// Each curated script keeps a plain per-interval counter of what it saw, `@zs_seen_NAME`
// (count or sum of the same quantity as `@NAME`), printed with the map. When the map's
// records add up to less than the counter, entries were lost on the way (a full map, a stack
// that could not be taken, a print that raced a clear) and the interval says how much.
// Pure: both tracer drivers call it on each interval.
import type { TraceEvent, TraceRecord } from '../../protocol/records.js';

const SEEN = /^zs_seen_(.+)$/;

function total(r: TraceRecord): number {
  switch (r.kind) {
    case 'stack':
    case 'scalar':
      return r.value;
    case 'hist':
      return r.buckets.reduce((a, b) => a + b.count, 0);
    case 'stats':
      return r.count;
    default:
      return 0;
  }
}

/** Drops the counters from the records and reports what they saw that did not arrive
 * (`counted`: what the counters saw, the base of the trace's "N% lost"). */
export function checkSeen(records: TraceRecord[], unit: string): { records: TraceRecord[]; events: TraceEvent[]; counted?: number } {
  const seen = new Map<string, number>();
  const kept: TraceRecord[] = [];
  for (const r of records) {
    const m = r.kind === 'scalar' && r.keys.length === 0 ? SEEN.exec(r.agg) : null;
    if (m && r.kind === 'scalar') seen.set(m[1], (seen.get(m[1]) ?? 0) + r.value);
    else kept.push(r);
  }
  const events: TraceEvent[] = [];
  for (const [agg, want] of seen) {
    let got = 0;
    for (const r of kept) if (r.kind !== 'printf' && r.agg === agg) got += total(r);
    if (got === want) continue;
    const lost = Math.abs(want - got);
    const pct = want ? ` (${((lost / Math.abs(want)) * 100).toFixed(1)}%)` : '';
    events.push({ kind: 'samples-lost', count: lost, message: `@${agg}: the script saw ${want} ${unit} this interval, ${got} arrived: ${lost} lost${pct}` });
  }
  return { records: kept, events, ...(seen.size ? { counted: [...seen.values()].reduce((a, b) => a + b, 0) } : {}) };
}
