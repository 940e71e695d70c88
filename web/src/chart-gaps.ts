// Where a zone chart has no trustworthy values, and why. Pure: times, values and the node's
// events in, gaps and rates out. A counter's rate is only drawn between two values taken one
// interval apart: across a hole (frames missing, a sampler that failed) the values on either
// side were not taken when their frames say (a late sampler's value lands in the next frame),
// and a rate over them reads as a dip or a spike that never happened.
import type { NodeEvent } from './api.js';

export interface Gap {
  /** ms: the last good sample before the hole and the first one after it */
  from: number;
  to: number;
  reason: string;
}

/** A frame later than this many intervals after the previous one leaves a hole. */
const LATE = 1.5;
/** One closer than this many intervals is not a sample period either (a resent or early frame). */
const EARLY = 0.5;

const irregular = (dtMs: number, intervalS: number): boolean => dtMs > LATE * intervalS * 1000 + 500 || dtMs < EARLY * intervalS * 1000;

/**
 * Per-second rate of a cumulative counter. Null where it cannot be trusted: a missing value on
 * either side, a counter reset, frames not one interval apart, and the two rates after a missing
 * value (the first value after a failed sampler may have been read late).
 */
export function rate(times: readonly number[], v: readonly (number | null)[], intervalS?: number): (number | null)[] {
  const out: (number | null)[] = [null];
  for (let i = 1; i < v.length; i++) {
    const a = v[i - 1];
    const b = v[i];
    const dtMs = times[i] - times[i - 1];
    const bad = a === null || b === null || dtMs <= 0 || b < a || (intervalS !== undefined && (irregular(dtMs, intervalS) || (i >= 2 && v[i - 2] === null)));
    out.push(bad ? null : (b - a) / (dtMs / 1000));
  }
  return out;
}

/** Holes in a chart: frames missing from the timeline, and runs of a series without values. */
export function findGaps(times: readonly number[], series: readonly (readonly (number | null)[])[], intervalS: number, events: readonly NodeEvent[] = []): Gap[] {
  const spans: [number, number][] = [];
  for (let i = 1; i < times.length; i++) if (times[i] - times[i - 1] > LATE * intervalS * 1000 + 500) spans.push([times[i - 1], times[i]]);
  for (const v of series) {
    let lastGood = -1;
    for (let i = 0; i < v.length; i++) {
      if (v[i] === null) continue;
      if (lastGood >= 0 && i - lastGood > 1) spans.push([times[lastGood], times[i]]);
      lastGood = i;
    }
    // still missing now: the hole runs to the latest frame
    if (lastGood >= 0 && lastGood < v.length - 1) spans.push([times[lastGood], times[v.length - 1]]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([...s]);
  }
  return merged.map(([from, to]) => ({ from, to, reason: reasonFor(from, to, intervalS, events) }));
}

/** The events that explain a hole, in the node's words; else what is known: how long it lasted. */
function reasonFor(from: number, to: number, intervalS: number, events: readonly NodeEvent[]): string {
  const slack = intervalS * 1000;
  const seen = new Map<string, number>();
  for (const e of events) {
    if (e.time < from - slack / 2 || e.time > to + slack) continue;
    if (e.kind === 'connected' && e.time > to) continue;
    seen.set(e.message, (seen.get(e.message) ?? 0) + 1);
  }
  const secs = Math.round((to - from) / 1000);
  const head = `no trustworthy samples for ${secs} s`;
  if (!seen.size) return `${head}: no frames arrived from the agent (or it sent none for this series)`;
  const lines = [...seen].slice(0, 4).map(([m, n]) => (n > 1 ? `${m} (×${n})` : m));
  return `${head}: ${lines.join('; ')}${seen.size > 4 ? `; and ${seen.size - 4} more` : ''}`;
}
