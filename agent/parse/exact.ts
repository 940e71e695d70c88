// Exact counts. DTrace prints 64-bit counts; a JavaScript number holds integers exactly only
// up to 2^53. Parsers keep a count as a number when it is safe and as a bigint when it is
// not; what leaves the process is decided where it leaves: `zonescope parse` prints such a
// count as a JSON string of its digits, the agent's frames (whose schema says number) carry
// the nearest number and say how many counts were rounded.
import type { Bucket, TraceRecord } from '../../protocol/records.js';

export type Count = number | bigint;

type ExactBucket = Omit<Bucket, 'count'> & { count: Count };
type Exact<R> = R extends { buckets: Bucket[] }
  ? Omit<R, 'buckets'> & { buckets: ExactBucket[] }
  : R extends { value: number }
    ? Omit<R, 'value'> & { value: Count }
    : R;
/** A TraceRecord whose counts (scalar and stack values, bucket counts) may be bigints. */
export type ExactRecord = Exact<TraceRecord>;

const INT = /^-?\d+$/;

/** Digits → the count they say: a number when that is exact, else a bigint. */
export function toCount(s: string): Count {
  if (s.length < 16) return Number(s);
  if (!INT.test(s)) return Number.NaN;
  const b = BigInt(s);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** A sum that stays exact: numbers while safe, bigints past that. */
export function addCounts(a: Count, b: Count): Count {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  const s = BigInt(a) + BigInt(b);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

/** JSON.stringify replacer: a bigint becomes the string of its digits. */
export const exactJson = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** The record as the wire carries it (numbers); `rounded` counts the counts that lost digits. */
export function toWire(r: ExactRecord, rounded: { n: number } = { n: 0 }): TraceRecord {
  const num = (c: Count) => {
    if (typeof c === 'number') return c;
    rounded.n++;
    return Number(c);
  };
  if (r.kind === 'hist') return { ...r, buckets: r.buckets.map((b) => ({ ...b, count: num(b.count) })) };
  if (r.kind === 'scalar' || r.kind === 'stack') return { ...r, value: num(r.value) } as TraceRecord;
  return r;
}
