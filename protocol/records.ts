// The trace record model: what every parser (DTrace text, bpftrace JSON) produces and what
// travels in trace frames. One model for both tracers, so everything downstream — folding,
// heatmaps, Prometheus histograms, the UI — is written once.
import Type, { type Static } from 'typebox';
import { Count, Finite, SafeInt } from './numbers.js';

/** deepest stack the wire takes */
export const MAX_STACK = 1024;
/** longest key, stack frame or message the wire takes (a demangled C++ name can be longer) */
export const MAX_TEXT = 4096;
const Key = Type.Union([Type.String({ maxLength: MAX_TEXT }), Finite()]);

/** A histogram bucket: values v with lo <= v < hi. null stands for -Inf (lo) or +Inf (hi). */
export const Bucket = Type.Object({
  lo: Type.Union([Finite(), Type.Null()]),
  hi: Type.Union([Finite(), Type.Null()]),
  count: Count(),
});
export type Bucket = Static<typeof Bucket>;

export const ScalarRecord = Type.Object({
  kind: Type.Literal('scalar'),
  /** aggregation name without the '@' ('' for the anonymous one) */
  agg: Type.String({ maxLength: 256 }),
  keys: Type.Array(Key, { maxItems: 16 }),
  value: Finite(),
});

export const HistRecord = Type.Object({
  kind: Type.Literal('hist'),
  agg: Type.String({ maxLength: 256 }),
  keys: Type.Array(Key, { maxItems: 16 }),
  /** ascending, non-overlapping; zero-count bounds rows may be omitted */
  buckets: Type.Array(Bucket, { maxItems: 4096 }),
});

/** width of the time slices a sampled stack is placed in (scripts key samples by it) */
export const SLICE_MS = 20;
/** most slices one record carries: a second holds 50; a late print a few more */
export const MAX_SLICES = 512;

/**
 * A stack-keyed aggregation row. `stack` is leaf first, as the tracers print it; when a key
 * holds a kernel and a user stack, the kernel frames come first and `kernel` says how many.
 * `slices`, when the script keys samples by time: [start of a SLICE_MS slice in epoch ms,
 * samples in it], ascending, adding up to `value`. They are what lets a subsecond heatmap and
 * the flame graph of a selection come from the same samples (FlameScope).
 */
export const StackRecord = Type.Object({
  kind: Type.Literal('stack'),
  agg: Type.String({ maxLength: 256 }),
  keys: Type.Array(Key, { maxItems: 16 }),
  stack: Type.Array(Type.String({ maxLength: MAX_TEXT }), { maxItems: MAX_STACK }),
  kernel: SafeInt({ minimum: 0 }),
  value: Finite(),
  slices: Type.Optional(Type.Array(Type.Tuple([SafeInt({ minimum: 0 }), Count()]), { maxItems: MAX_SLICES })),
});

export const StatsRecord = Type.Object({
  kind: Type.Literal('stats'),
  agg: Type.String({ maxLength: 256 }),
  keys: Type.Array(Key, { maxItems: 16 }),
  count: Count(),
  avg: Finite(),
  total: Finite(),
});

export const PrintfRecord = Type.Object({
  kind: Type.Literal('printf'),
  text: Type.String({ maxLength: 65536 }),
});

export const TraceRecord = Type.Union([ScalarRecord, HistRecord, StackRecord, StatsRecord, PrintfRecord]);
export type ScalarRecord = Static<typeof ScalarRecord>;
export type HistRecord = Static<typeof HistRecord>;
export type StackRecord = Static<typeof StackRecord>;
export type StatsRecord = Static<typeof StatsRecord>;
export type PrintfRecord = Static<typeof PrintfRecord>;
export type TraceRecord = Static<typeof TraceRecord>;

/** What makes two records one when they add up (same kind, aggregation, keys and stack): the
 * server merging intervals, the agent joining a stack's time slices. */
export function recordKey(r: TraceRecord): string {
  switch (r.kind) {
    case 'stack':
      return `s\0${r.agg}\0${JSON.stringify(r.keys)}\0${r.kernel}\0${r.stack.join('\n')}`;
    case 'printf':
      return `p\0${r.text}`;
    default:
      return `${r.kind[0]}\0${r.agg}\0${JSON.stringify(r.keys)}`;
  }
}

/** A tracer diagnostic (DTrace stderr, bpftrace warnings) turned into something countable. */
export const TraceEvent = Type.Object({
  kind: Type.Union([
    Type.Literal('drops'), // principal buffer drops
    Type.Literal('aggregation-drops'),
    Type.Literal('dynvar-drops'),
    Type.Literal('speculation-drops'),
    Type.Literal('error'), // error on an enabled probe, "N errors"
    Type.Literal('compile-error'),
    Type.Literal('no-probes'), // matched 0 probes
    Type.Literal('info'), // "matched N probes", banners
    Type.Literal('warning'),
    // samples the script's own per-interval counter saw whose stacks or keys did not arrive
    Type.Literal('samples-lost'),
    // lines of tracer output the agent could not read: skipped, count = lines (the records
    // around them are kept)
    Type.Literal('unparsed'),
  ]),
  count: Count(),
  cpu: Type.Optional(SafeInt({ minimum: 0 })),
  message: Type.String({ maxLength: 4096 }),
});
export type TraceEvent = Static<typeof TraceEvent>;
