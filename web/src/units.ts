// Values with their unit, as a trace declares it (scripts/NAME.json "unit"): a latency heatmap
// in nanoseconds reads "2 µs", an off-CPU flame graph "1.5 s", malloc sizes "3.0 MiB".
import { fmtBytes } from './dom.js';

/** 1234 ns → "1.23 µs"; keeps three significant digits. */
export function fmtNs(ns: number): string {
  const a = Math.abs(ns);
  const p = (v: number, u: string): string => `${+v.toPrecision(3)} ${u}`;
  if (a >= 1e9) return p(ns / 1e9, 's');
  if (a >= 1e6) return p(ns / 1e6, 'ms');
  if (a >= 1e3) return p(ns / 1e3, 'µs');
  return p(ns, 'ns');
}

const TIME = new Set(['nanoseconds', 'ns']);
const BYTES = new Set(['bytes', 'B']);

/** A formatter for one value of this unit; counts keep the unit's own word ("12 samples"). */
export function unitFormatter(unit: string | undefined): (v: number) => string {
  if (unit && TIME.has(unit)) return fmtNs;
  if (unit && BYTES.has(unit)) return (v) => fmtBytes(v);
  const word = unit || 'samples';
  // "1 sample", "2 samples", "1 call"
  const one = word.endsWith('s') ? word.slice(0, -1) : word;
  return (v) => `${Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${v === 1 ? one : word}`;
}
