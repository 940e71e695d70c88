// The first thing a trace page says once the trace has ended: its outcome and why. "Complete"
// only for a done trace (every interval arrived, nothing lost); a failed one gives the tracer's
// own message and what else it said; a partial or stopped one lists what is missing.
import type { Trace, TraceSummary } from '../api.js';
import type { TraceEvent } from '../../../protocol/records.js';
import { h } from '../dom.js';
import { unitFormatter } from '../units.js';

const TRACER_SAID = new Set<TraceEvent['kind']>(['compile-error', 'error', 'no-probes', 'warning']);

export const plural = (n: number, w: string): string => `${n.toLocaleString('en-US')} ${w}${n === 1 ? '' : 's'}`;

/** The tracer's messages, numbers folded (one line per kind of message), most frequent first. */
export function tracerMessages(events: readonly TraceEvent[], kinds = TRACER_SAID): [string, number][] {
  const msgs = new Map<string, number>();
  for (const e of events) {
    if (!kinds.has(e.kind)) continue;
    const m = e.message.replace(/\d+/g, 'N');
    msgs.set(m, (msgs.get(m) ?? 0) + Math.max(1, e.count ?? 1));
  }
  return [...msgs].sort((a, b) => b[1] - a[1]);
}

/** Whether the trace has anything to draw: a failed trace with no records gets no charts. */
export function hasResult(t: Trace): boolean {
  return t.status !== 'failed' || t.records.length > 0 || t.intervals > 0;
}

/** "Lost data: …" parts, only what was really lost: drops, and samples counted but not delivered. */
function lostParts(t: TraceSummary): string[] {
  const drops = Object.entries(t.drops ?? {}).filter(([, n]) => n > 0);
  return [...drops.map(([k, n]) => `${n.toLocaleString('en-US')} ${k}`), ...(t.samplesLost ? [unitFormatter(t.unit)(t.samplesLost)] : [])];
}

export function outcomeBox(t: Trace): HTMLElement {
  const box = h(`section.outcome.outcome-${t.status}` as 'section', { role: 'status' });
  const reasons = t.reasons ?? [];
  const said = tracerMessages(t.events ?? []);
  const list = (items: [string, number][]) =>
    h('ul.events', ...items.slice(0, 8).map(([m, n]) => h('li', h('code', m), n > 1 ? h('span.dim', ` ×${n.toLocaleString('en-US')}`) : null)));
  if (t.status === 'failed') {
    box.append(h('p.outcome-head', h('strong', 'Failed: '), h('span.tracer-message', t.error ?? 'the agent gave no reason')));
    // what else it said (the message above is usually one of them)
    const more = said.filter(([m]) => m !== t.error?.replace(/\d+/g, 'N'));
    if (more.length) box.append(h('p', 'The tracer also said:'), list(more));
  } else if (t.status === 'partial' || t.status === 'stopped') {
    box.append(h('p.outcome-head', h('strong', t.status === 'partial' ? 'Incomplete: ' : 'Stopped: '), reasons.length ? 'what is missing and why:' : 'it did not run its whole duration.'));
  } else if (t.status === 'done') {
    box.append(h('p.outcome-head', h('strong', 'Complete: '), `every interval arrived (${plural(t.intervals, 'interval')}), nothing was lost.`));
  } else return box;
  // what is missing, in words (the agent's and the server's)
  if (reasons.length) box.append(h('div.reasons', h('ul.reasons-list', ...reasons.map((r) => h('li', r)))));
  const lost = lostParts(t);
  if (lost.length) box.append(h('p.warn.lost', `Lost data: ${lost.join(', ')}`));
  if (t.status !== 'failed' && t.errors) {
    // the tracer's own messages: "999 probe errors" alone does not say what broke
    const what = `Tracer errors: ${plural(t.errors, 'error')}`;
    box.append(said.length ? h('details.warn', h('summary', what), list(said)) : h('p.warn', what));
  }
  return box;
}
