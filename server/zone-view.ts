// What the API and the UI show of a zone: a summary from the latest frame, and its history as
// columns (one array per series) — the shape uPlot draws without copying.
import type { Point, Zone } from '../protocol/messages.js';
import { labelString } from '../protocol/exposition.js';
import type { NodeState } from './fleet.js';

/** The zone's family summed over its other labels (modes, interfaces); undefined when absent. */
function total(points: readonly Point[], zone: string, f: string): number | undefined {
  let sum: number | undefined;
  for (const p of points) if (p.f === f && p.l.zone === zone) sum = (sum ?? 0) + p.v;
  return sum;
}

export function zoneSummary(n: NodeState, z: Zone) {
  const h = n.history;
  const last = h[h.length - 1];
  const prev = h[h.length - 2];
  let cpuRatio: number | undefined;
  if (last && prev && last.time > prev.time) {
    const a = total(prev.points, z.name, 'zone_cpu_seconds_total');
    const b = total(last.points, z.name, 'zone_cpu_seconds_total');
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
  const frames = n.history.filter((f) => f.time >= since);
  const series: Record<string, (number | null)[]> = {};
  frames.forEach((f, i) => {
    for (const p of f.points) {
      if (p.l.zone !== zone) continue;
      const { zone: _z, alias: _a, ...rest } = p.l;
      const key = `${p.f}{${labelString(rest)}}`;
      (series[key] ??= new Array(frames.length).fill(null))[i] = p.v;
    }
  });
  return { times: frames.map((f) => f.time), series };
}
