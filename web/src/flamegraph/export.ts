// Exports the whole profile: folded text (FlameGraph, this tool), speedscope's file format and
// pprof (profile.proto, for `go tool pprof`, Pyroscope, Parca), each with the profile's unit.
import type { Layout } from './layout.js';
import { encodePprof, type WeightedStack } from '../../../protocol/pprof.js';

function stackOf(L: Layout, i: number, out: number[]): number[] {
  out.length = 0;
  for (let f = i; f > 0; f = L.parent[f]) out.push(L.name[f]);
  return out.reverse();
}

export function toFolded(L: Layout): string {
  const names = L.tree.names;
  const lines: string[] = [];
  const st: number[] = [];
  for (let i = 1; i < L.n; i++) {
    if (L.self[i] > 0) lines.push(stackOf(L, i, st).map((k) => names[k]).join(';') + ' ' + L.self[i]);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** speedscope's value units (its schema's ValueUnit); a count of samples or calls is "none" */
export function speedscopeUnit(unit: string | undefined): 'none' | 'nanoseconds' | 'bytes' {
  if (unit === 'nanoseconds' || unit === 'ns') return 'nanoseconds';
  if (unit === 'bytes' || unit === 'B') return 'bytes';
  return 'none';
}

/** speedscope's "sampled" profile: https://www.speedscope.app/file-format-schema.json */
export function toSpeedscope(L: Layout, title: string, unit?: string): string {
  const names = L.tree.names;
  const used = new Map<number, number>();
  const frames: { name: string }[] = [];
  const samples: number[][] = [];
  const weights: number[] = [];
  const st: number[] = [];
  for (let i = 1; i < L.n; i++) {
    if (!(L.self[i] > 0)) continue;
    samples.push(
      stackOf(L, i, st).map((k) => {
        let f = used.get(k);
        if (f === undefined) {
          f = frames.length;
          frames.push({ name: names[k] });
          used.set(k, f);
        }
        return f;
      }),
    );
    weights.push(L.self[i]);
  }
  return JSON.stringify({
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    name: title,
    exporter: 'zonescope',
    activeProfileIndex: 0,
    shared: { frames },
    profiles: [{ type: 'sampled', name: title, unit: speedscopeUnit(unit), startValue: 0, endValue: L.total, samples, weights }],
  });
}

/** The profile as uncompressed profile.proto bytes (the download gzips them). */
export function toPprof(L: Layout, unit = 'samples', title?: string): Uint8Array {
  const names = L.tree.names;
  const st: number[] = [];
  const stacks: WeightedStack[] = [];
  for (let i = 1; i < L.n; i++) if (L.self[i] > 0) stacks.push({ frames: stackOf(L, i, st).map((k) => names[k]), value: L.self[i] });
  return encodePprof(stacks, { unit, comments: title ? [title] : [] });
}
