// Folded stacks as a pprof profile (profile.proto), for `go tool pprof`, Grafana Pyroscope,
// Parca and the rest of that ecosystem. One encoder for the server (traces, time ranges,
// continuous-profile windows) and the browser (the flame graph's download), built on
// DataDog's pprof-format so the wire format is not hand-written here. The caller gzips
// (node:zlib on the server, CompressionStream in the browser): pprof files are gzipped.
import { Function as PFunction, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';

/** A stack, root first (as in folded text), and its weight in the profile's unit. */
export interface WeightedStack {
  frames: readonly string[];
  value: number;
}

export interface PprofOptions {
  /** the trace's unit as the catalog names it: samples, nanoseconds, bytes, calls */
  unit: string;
  /** sampling rate of a sampled profile: recorded as the period (cpu nanoseconds per sample) */
  hz?: number;
  /** when the profile starts and how long it covers (ms since the epoch, ms) */
  startMs?: number;
  durationMs?: number;
  /** free text shown by `pprof -comments` (node, zone, script) */
  comments?: string[];
}

/**
 * The sample type for a catalog unit. pprof's units are "count", "nanoseconds" and "bytes"
 * (pprof scales the last two itself: ms, MB); the type says what was counted.
 */
export function sampleType(unit: string): { type: string; unit: string } {
  switch (unit) {
    case 'samples':
      return { type: 'samples', unit: 'count' };
    case 'nanoseconds':
    case 'ns':
      return { type: 'time', unit: 'nanoseconds' };
    case 'bytes':
      return { type: 'space', unit: 'bytes' };
    default:
      // calls, events: counted things
      return { type: unit || 'samples', unit: 'count' };
  }
}

/** Folded lines (`a;b;c 12`) as weighted stacks. */
export function stacksOfFolded(folded: Map<string, number>): WeightedStack[] {
  const out: WeightedStack[] = [];
  for (const [k, v] of folded) out.push({ frames: k.split(';'), value: v });
  return out;
}

/**
 * The uncompressed profile.proto bytes. Each distinct frame name is one function and one
 * location (folded text has no addresses); stacks with no weight or less (a memleak stack
 * that freed all it took) are left out, as the flame graph leaves them out.
 */
export function encodePprof(stacks: Iterable<WeightedStack>, o: PprofOptions): Uint8Array {
  const strings = new StringTable();
  const functions: PFunction[] = [];
  const locations: Location[] = [];
  const byName = new Map<string, number>();
  const samples: Sample[] = [];
  const locationOf = (name: string): number => {
    let id = byName.get(name);
    if (id === undefined) {
      id = locations.length + 1; // ids start at 1: 0 means "none" in profile.proto
      const n = strings.dedup(name);
      functions.push(new PFunction({ id, name: n, systemName: n }));
      locations.push(new Location({ id, line: [{ functionId: id }] }));
      byName.set(name, id);
    }
    return id;
  };
  for (const s of stacks) {
    if (!(s.value > 0) || s.frames.length === 0) continue;
    const ids: number[] = [];
    // profile.proto lists a sample's locations leaf first
    for (let i = s.frames.length - 1; i >= 0; i--) ids.push(locationOf(s.frames[i]));
    samples.push(new Sample({ locationId: ids, value: [Math.round(s.value)] }));
  }
  const st = sampleType(o.unit);
  const profile = new Profile({
    sampleType: [new ValueType({ type: strings.dedup(st.type), unit: strings.dedup(st.unit) })],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    ...(o.hz && o.hz > 0 ? { periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }), period: Math.round(1e9 / o.hz) } : {}),
    ...(o.startMs !== undefined ? { timeNanos: BigInt(Math.round(o.startMs)) * 1_000_000n } : {}),
    ...(o.durationMs !== undefined ? { durationNanos: BigInt(Math.max(0, Math.round(o.durationMs))) * 1_000_000n } : {}),
    comment: (o.comments ?? []).map((c) => strings.dedup(c)),
  });
  return profile.encode();
}
