// What a trace frame may hold is bounded by the protocol (protocol/records.ts, messages.ts),
// and the server closes the connection of an agent that sends more: one C++ name longer than
// the limit, from any process of a global-zone profile, would cost the node its link. So the
// agent fits what it sends: long text is cut (and says so), deep stacks keep their leaf end,
// diagnostics over the count are summed into one.
import { MAX_STACK, MAX_TEXT, type TraceEvent, type TraceRecord } from '../../protocol/records.js';

/** most events one frame carries */
export const MAX_EVENTS = 1024;

const cut = (s: string) => (s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT - 1)}…`);
const cutKey = (k: string | number) => (typeof k === 'string' ? cut(k) : k);

export function fitRecord(rec: TraceRecord): TraceRecord {
  if (rec.kind === 'printf') return rec;
  const long = (k: string | number) => typeof k === 'string' && k.length > MAX_TEXT;
  if (rec.kind === 'stack') {
    if (rec.stack.length <= MAX_STACK && !rec.stack.some(long) && !rec.keys.some(long)) return rec;
    // leaf first: a stack too deep loses its root end; the kernel part counts what is kept
    const stack = rec.stack.slice(0, MAX_STACK).map(cut);
    return { ...rec, keys: rec.keys.map(cutKey), stack, kernel: Math.min(rec.kernel, stack.length) };
  }
  return rec.keys.some(long) ? { ...rec, keys: rec.keys.map(cutKey) } : rec;
}

/** The events of one frame, at most MAX_EVENTS: past that, one warning counts the rest. */
export function fitEvents(events: TraceEvent[], alreadyLeftOut = 0): TraceEvent[] {
  const over = alreadyLeftOut + Math.max(0, events.length - (alreadyLeftOut ? MAX_EVENTS - 1 : MAX_EVENTS));
  if (!over) return events.map((e) => (e.message.length > MAX_TEXT ? { ...e, message: cut(e.message) } : e));
  const kept = events.slice(0, MAX_EVENTS - 1).map((e) => (e.message.length > MAX_TEXT ? { ...e, message: cut(e.message) } : e));
  return [...kept, { kind: 'warning', count: over, message: `${over} more tracer diagnostics not forwarded` }];
}
