// What the API and the UI show of a zone: a summary from the latest frame, and its history as
// columns (one array per series) — the shape uPlot draws without copying.
import type { Point, Zone } from '../protocol/messages.js';
import type { NodeState } from './fleet.js';

export function zoneSummary(n: NodeState, z: Zone) {
  const h = n.history;
  const last = h.frames[h.length - 1];
  const prev = h.frames[h.length - 2];
  let cpuRatio: number | undefined;
  if (last && prev && last.time > prev.time) {
    const a = h.total(prev, z.name, 'zone_cpu_seconds_total');
    const b = h.total(last, z.name, 'zone_cpu_seconds_total');
    if (a !== undefined && b !== undefined && b >= a) cpuRatio = (b - a) / ((last.time - prev.time) / 1000);
  }
  const latest = n.latest?.points ?? [];
  return {
    ...z,
    cpuSeconds: total(latest, z.name, 'zone_cpu_seconds_total'),
    cpuRatio,
    memoryBytes: total(latest, z.name, 'zone_memory_rss_bytes'),
    memoryLimitBytes: total(latest, z.name, 'zone_memory_limit_bytes'),
  };
}

export function historyOf(n: NodeState, zone: string, since: number) {
  return n.history.columns(zone, since);
}

/** The zone's family summed over its other labels (modes, interfaces); undefined when absent. */
function total(points: readonly Point[], zone: string, f: string): number | undefined {
  let sum: number | undefined;
  for (const p of points) if (p.f === f && p.l.zone === zone) sum = (sum ?? 0) + p.v;
  return sum;
}
