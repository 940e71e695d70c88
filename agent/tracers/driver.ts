// What differs between DTrace and bpftrace for the runner: how the command line is built,
// how stdout turns into intervals, and how a stderr line is read. One driver per tracer.
import type { TraceEvent, TraceRecord } from '../../protocol/records.js';
import type { Zone } from '../../protocol/messages.js';
import type { ScriptMeta } from '../../scripts/catalog.js';

export interface Interval {
  records: TraceRecord[];
  events: TraceEvent[];
  /** what the script's own per-interval counter saw (samples, calls), when it keeps one: the
   * base of "N% of samples lost" next to the interval's samples-lost events */
  counted?: number;
  /** events that came after the last interval ended (they ride with it, not as a new one) */
  trailing?: boolean;
}

export interface StdoutDecoder {
  push(chunk: string): Interval[];
  end(): Interval[];
}

export interface StderrDecoder {
  line(line: string): TraceEvent[];
  /** the message held back waiting for a possible continuation line */
  end(): TraceEvent[];
}

export interface Invocation {
  cmd: string;
  args: string[];
  env: Record<string, string>;
  /** what the trace should say about how it was set up (a warning each) */
  warnings?: string[];
  /** called once the tracer has exited (files written for this run) */
  cleanup?: () => void;
}

export interface TracerDriver {
  readonly name: 'dtrace' | 'bpftrace';
  invocation(meta: ScriptMeta, file: string, zone: Zone, durationS: number, values: Record<string, number | string>): Promise<Invocation>;
  stdout(meta: ScriptMeta, file: string): StdoutDecoder;
  /** One per tracer process: a message may span lines, so the reader keeps state. */
  stderr(): StderrDecoder;
  /** work on a whole interval that may wait (naming user frames), in interval order */
  finish?(iv: Interval, meta: ScriptMeta): Promise<Interval>;
}
