// What the API and the UI show of a zone: a summary from the latest frame, and its history as
// columns (one array per series) — the shape uPlot draws without copying.
import type { Zone } from '../protocol/messages.js';
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
  // the newest frame, when the history still holds it (a node away past the retention has none)
  const total = (f: string) => (last && last.time === n.latest?.time ? h.total(last, z.name, f) : undefined);
  return {
    ...z,
    cpuSeconds: total('zone_cpu_seconds_total'),
    cpuRatio,
    memoryBytes: total('zone_memory_rss_bytes'),
    memoryLimitBytes: total('zone_memory_limit_bytes'),
  };
}

/** The zone's columns since `since`, with when the node's history starts (`keptSince`, ms; null
 * when empty) and how much the server keeps (`retentionS`): a chart whose window reaches
 * before `keptSince` says it has nothing there. */
export function historyOf(n: NodeState, zone: string, since: number, retentionS: number) {
  return { ...n.history.columns(zone, since), keptSince: n.history.frames[0]?.time ?? null, retentionS };
}
