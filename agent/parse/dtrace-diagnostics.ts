// One line of DTrace's stderr → a countable TraceEvent. The messages are libdtrace's
// (dt_handle.c, dtrace.c), singular and plural alike; what they mean for the trace:
// drops and errors are counted and exported, compile errors and "matched 0 probes" end it.
import type { TraceEvent } from '../../protocol/records.js';

type Rule = [RegExp, (m: RegExpExecArray) => Omit<TraceEvent, 'message'>];

const n = (s: string) => Number(s);

const RULES: Rule[] = [
  [/^(\d+) drops? on CPU (\d+)/, (m) => ({ kind: 'drops', count: n(m[1]), cpu: n(m[2]) })],
  [/^(\d+) aggregation drops? on CPU (\d+)/, (m) => ({ kind: 'aggregation-drops', count: n(m[1]), cpu: n(m[2]) })],
  [/^(\d+) aggregation drops?/, (m) => ({ kind: 'aggregation-drops', count: n(m[1]) })],
  [/^(\d+) dynamic variable drops?/, (m) => ({ kind: 'dynvar-drops', count: n(m[1]) })],
  [/^(\d+) speculative drops?/, (m) => ({ kind: 'speculation-drops', count: n(m[1]) })],
  [/^(\d+) failed speculations?/, (m) => ({ kind: 'speculation-drops', count: n(m[1]) })],
  [/^error on enabled probe ID \d+ \(ID \d+: [^)]*\)/, () => ({ kind: 'error', count: 1 })],
  [/^(\d+) errors? on CPU (\d+)/, (m) => ({ kind: 'error', count: n(m[1]), cpu: n(m[2]) })],
  [/^(\d+) errors?\b/, (m) => ({ kind: 'error', count: n(m[1]) })],
  [/^processing aborted/, () => ({ kind: 'error', count: 1 })],
  [/^(?:description|script) '.*' matched 0 probes/, () => ({ kind: 'no-probes', count: 0 })],
  [/^(?:description|script) '.*' matched (\d+) probes?/, (m) => ({ kind: 'info', count: n(m[1]) })],
  // the trace never starts: bad D, bad probe, bad option, no privileges, no buffer space
  [
    /^(failed to compile|invalid probe specifier|failed to enable|failed to set option|could not enable tracing|failed to initialize|couldn't set option|failed to grab|failed to create process|no probes specified|failed to match)/,
    () => ({ kind: 'compile-error', count: 1 }),
  ],
  [/^(pid \d+ has exited|allowing destructive actions|description '.*' matched)/, () => ({ kind: 'info', count: 1 })],
];

/**
 * Parses one stderr line. Lines without the `dtrace: ` prefix are not DTrace's own (they
 * are the traced command's output, or the wrapped tail of the previous message) → null,
 * as are blank lines; unrecognised `dtrace: ` lines are warnings, never dropped.
 */
export function parseDtraceDiagnostic(line: string): TraceEvent | null {
  const t = line.trim();
  if (!t.startsWith('dtrace:')) return null;
  const body = t.slice('dtrace:'.length).trim().replace(/\s*\\$/, '');
  const message = t.slice(0, 4096);
  for (const [re, f] of RULES) {
    const m = re.exec(body);
    if (m) return { ...f(m), message };
  }
  return { kind: 'warning', count: 1, message };
}
