// How a trace ended, told truthfully: `done` only when every interval arrived and nothing was
// lost; `partial` with one sentence per reason when something is missing; `failed` with the
// tracer's own message when nothing usable came back. Pure: the runner gathers the facts.
import type { TraceEnd } from '../../protocol/messages.js';
import type { TraceEvent } from '../../protocol/records.js';

export interface RunFacts {
  tracer: 'dtrace' | 'bpftrace';
  /** what the script's values count (samples, bytes, calls) */
  unit: string;
  durationS: number;
  /** intervals the tracer printed */
  intervals: number;
  exitCode: number | null;
  signal?: string;
  /** the tracer could not be started at all */
  spawnError?: string;
  /** why the runner signalled the tracer, if it did */
  ended?: 'stop' | 'limit' | 'overflow' | 'startup' | 'gone';
  /** the runner had to SIGKILL it after SIGINT */
  killed?: boolean;
  /** the first fatal diagnostic (compile error, no probes, ERROR), in the tracer's words */
  firstError?: string;
  /** the last thing the tracer wrote on stderr (when it gave no recognised error) */
  lastStderr?: string;
  /** errors while it ran (not cleanup after the end), by message */
  runErrors: Map<string, number>;
  /** samples the script's own counter saw whose data did not arrive, and what it counted */
  lostSamples: number;
  countedSamples: number;
  /** what the tracer itself reported dropping, by event kind (drops, aggregation-drops, ...) */
  drops: Record<string, number>;
  /** what went away while it ran ("process 123 exited after 4 s") */
  gone: string[];
  limits: { startupGraceS: number; endGraceS: number; killGraceS: number; maxIntervalBytes: number };
}

export type Outcome = Omit<TraceEnd, 'v' | 'type' | 'id'>;

const MAX_ERROR_REASONS = 5;

/** the tracer's drop counters in words (DTrace names its buffers; bpftrace's "Lost N events" is `drops`) */
const DROPPED: Record<string, string> = {
  drops: 'events dropped by the tracer (its buffer was full)',
  'aggregation-drops': 'aggregation entries dropped (aggregation buffer full)',
  'dynvar-drops': 'dynamic variable drops',
  'speculation-drops': 'speculations dropped',
};

/** bpftrace tears uprobes down after its last print; failing that costs no data */
const DETACH = /failed to detach probe|detach/i;

/** An error printed while tearing down (or once the tracer was told to stop) is a warning:
 * trouble worth showing, not data lost. */
export function cleanupNoise(ev: TraceEvent, signalled: boolean): TraceEvent {
  if (ev.kind !== 'error' || !(signalled || DETACH.test(ev.message))) return ev;
  return { ...ev, kind: 'warning', message: `after the trace: ${ev.message}`.slice(0, 4096) };
}

export function traceOutcome(f: RunFacts): Outcome {
  const exitCode = f.exitCode;
  const t = f.tracer;
  if (f.spawnError) return { status: 'failed', error: f.spawnError, exitCode };
  if (f.ended === 'overflow') return { status: 'failed', error: `the tracer produced more than ${f.limits.maxIntervalBytes} bytes in one interval`, exitCode };
  if (f.ended === 'startup') {
    return { status: 'failed', error: `${t} printed nothing within ${f.limits.startupGraceS} s of starting${f.firstError ? `: ${f.firstError}` : ''}`, exitCode };
  }

  const reasons: string[] = [...f.gone];
  if (f.lostSamples > 0) {
    const pct = f.countedSamples > 0 ? ` (${((100 * f.lostSamples) / f.countedSamples).toFixed(1)}% of the ${f.countedSamples.toLocaleString('en-US')} the script counted)` : '';
    reasons.push(`${f.lostSamples.toLocaleString('en-US')} ${f.unit} lost${pct}`);
  }
  for (const [kind, n] of Object.entries(f.drops)) if (n > 0) reasons.push(`${n.toLocaleString('en-US')} ${DROPPED[kind] ?? kind}`);
  const errs = [...f.runErrors].sort((a, b) => b[1] - a[1]);
  for (const [msg, n] of errs.slice(0, MAX_ERROR_REASONS)) reasons.push(`${t} error${n > 1 ? ` (×${n})` : ''}: ${msg}`);
  if (errs.length > MAX_ERROR_REASONS) reasons.push(`${errs.length - MAX_ERROR_REASONS} more kinds of ${t} errors`);
  const own = f.firstError ?? f.lastStderr;
  if (f.killed) reasons.push(`${t} did not exit within ${f.limits.killGraceS} s of SIGINT and was killed: its last interval is lost`);
  else if (f.signal && f.signal !== 'SIGINT') reasons.push(`${t} was killed by ${f.signal}${own ? `: ${own}` : ''}`);
  else if (exitCode !== null && exitCode !== 0) reasons.push(`${t} exited with code ${exitCode}${own ? `: ${own}` : ''}`);
  if (f.ended === 'limit' && !f.killed) reasons.push(`${t} had not finished ${f.limits.endGraceS} s after its last interval was due: stopped`);

  if (f.ended === 'stop') return { status: 'stopped', exitCode, ...(reasons.length ? { reasons } : {}) };
  if (f.intervals === 0) {
    // nothing usable: say it in the tracer's own words when it left any
    const error = f.firstError ?? (reasons.length ? reasons.join('; ') : `${t} printed no interval${f.lastStderr ? `: ${f.lastStderr}` : ''}`);
    return { status: 'failed', error: error.slice(0, 4096), exitCode };
  }
  if (f.intervals < f.durationS) reasons.unshift(`${f.intervals} of ${f.durationS} intervals arrived`);
  return reasons.length ? { status: 'partial', reasons: reasons.slice(0, 32).map((r) => r.slice(0, 1024)), exitCode } : { status: 'done', exitCode };
}
