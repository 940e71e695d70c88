// What the API and the UI show of a zone: a summary from the latest frame, and its history as
// columns (one array per series) — the shape uPlot draws without copying.
import type { Zone } from '../protocol/messages.js';
import { labelString } from './exposition.js';
import type { NodeState } from './fleet.js';

function value(n: NodeState, zone: string, f: string, where: (l: Record<string, string>) => boolean = () => true): number | undefined {
  let sum: number | undefined;
  for (const p of n.latest?.points ?? []) if (p.f === f && p.l.zone === zone && where(p.l)) sum = (sum ?? 0) + p.v;
  return sum;
}

function cpuAt(points: { f: string; l: Record<string, string>; v: number }[], zone: string): number | undefined {
  let sum: number | undefined;
  for (const p of points) if (p.f === 'zone_cpu_seconds_total' && p.l.zone === zone) sum = (sum ?? 0) + p.v;
  return sum;
}

export function zoneSummary(n: NodeState, z: Zone) {
  const h = n.history;
  const last = h[h.length - 1];
  const prev = h[h.length - 2];
  let cpuRatio: number | undefined;
  if (last && prev && last.time > prev.time) {
    const a = cpuAt(prev.points, z.name);
    const b = cpuAt(last.points, z.name);
    if (a !== undefined && b !== undefined && b >= a) cpuRatio = (b - a) / ((last.time - prev.time) / 1000);
  }
  return {
    ...z,
    cpuSeconds: value(n, z.name, 'zone_cpu_seconds_total'),
    cpuRatio,
    memoryBytes: value(n, z.name, 'zone_memory_rss_bytes'),
    memoryLimitBytes: value(n, z.name, 'zone_memory_limit_bytes'),
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
