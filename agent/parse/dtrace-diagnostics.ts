// DTrace's stderr → countable TraceEvents. The messages are libdtrace's (dt_handle.c,
// dtrace.c), singular and plural alike; what they mean for the trace: drops and errors are
// counted and exported, compile errors and "matched 0 probes" end it. With `-x droptags` every
// drop message starts with its tag (`dtrace: [DTRACEDROP_PRINCIPAL] 11 drops on CPU 0`); the
// tag then says what was dropped. A message may be wrapped onto following lines (a compile
// error's reason, an "error on enabled probe" cut before its fault): those lines are kept in it.
import type { TraceEvent } from '../../protocol/records.js';
import { MAX_MESSAGE, readDiagnostics, type Diagnostic } from './diagnostic-lines.js';

type Kind = TraceEvent['kind'];
type Rule = [RegExp, (m: RegExpExecArray) => Omit<TraceEvent, 'message'>];

const n = (s: string) => Number(s);

const TAGS: Record<string, Kind> = {
  DTRACEDROP_PRINCIPAL: 'drops',
  DTRACEDROP_AGGREGATION: 'aggregation-drops',
  DTRACEDROP_DYNAMIC: 'dynvar-drops',
  DTRACEDROP_DYNRINSE: 'dynvar-drops',
  DTRACEDROP_DYNDIRTY: 'dynvar-drops',
  DTRACEDROP_SPEC: 'speculation-drops',
  DTRACEDROP_SPECBUSY: 'speculation-drops',
  DTRACEDROP_SPECUNAVAIL: 'speculation-drops',
  DTRACEDROP_DBLERROR: 'error',
  DTRACEDROP_STKSTROVERFLOW: 'warning',
};

const COMPILE =
  /^(failed to compile|invalid probe specifier|failed to enable|failed to set option|could not enable tracing|failed to initialize|couldn't set option|failed to grab|failed to create process|no probes specified|failed to match|failed to establish|END enablings exceed|cannot open)/;

const RULES: Rule[] = [
  [/^(\d+) drops? on CPU (\d+)/, (m) => ({ kind: 'drops', count: n(m[1]), cpu: n(m[2]) })],
  [/^(\d+) aggregation drops? on CPU (\d+)/, (m) => ({ kind: 'aggregation-drops', count: n(m[1]), cpu: n(m[2]) })],
  [/^(\d+) aggregation drops?/, (m) => ({ kind: 'aggregation-drops', count: n(m[1]) })],
  [/^(\d+) dynamic variable drops?/, (m) => ({ kind: 'dynvar-drops', count: n(m[1]) })],
  [/^(\d+) speculative drops?/, (m) => ({ kind: 'speculation-drops', count: n(m[1]) })],
  [/^(\d+) failed speculations?/, (m) => ({ kind: 'speculation-drops', count: n(m[1]) })],
  [/^(\d+) jstack\(\)\/ustack\(\) string table overflows?/, (m) => ({ kind: 'warning', count: n(m[1]) })],
  [/^error on enabled probe ID \d+ \(ID \d+: [^)]*\)/, () => ({ kind: 'error', count: 1 })],
  [/^(\d+) errors? on CPU (\d+)/, (m) => ({ kind: 'error', count: n(m[1]), cpu: n(m[2]) })],
  [/^(\d+) errors?\b/, (m) => ({ kind: 'error', count: n(m[1]) })],
  [/^processing aborted/, () => ({ kind: 'error', count: 1 })],
  [/^(?:description|script) '.*' matched 0 probes/, () => ({ kind: 'no-probes', count: 0 })],
  [/^(?:description|script) '.*' matched (\d+) probes?/, (m) => ({ kind: 'info', count: n(m[1]) })],
  // the trace never starts: bad D, bad probe, bad option, no privileges, no buffer space
  [COMPILE, () => ({ kind: 'compile-error', count: 1 })],
  // the trace runs with smaller buffers than asked for: more drops are likely
  [/^(buffer|aggregation|speculation|dynamic variable|string table) size (lowered|raised) to/, () => ({ kind: 'warning', count: 1 })],
  [/^(pid \d+ has exited|allowing destructive actions)/, () => ({ kind: 'info', count: 1 })],
];

/** A complete "error on enabled probe" names where it faulted (dt_handle.c: "... in action #N"). */
const FAULT_PLACE = /\bin (action #\d+|predicate)\b/;

/**
 * Whether a message may go on on the next line: it ends in `\\` or `:`, it is a compile error
 * (whose reason can follow), or an enabled-probe error without its fault's place.
 */
function open(message: string, kind: Kind): boolean {
  return message.endsWith('\\') || message.endsWith(':') || kind === 'compile-error' || (/ error on enabled probe /.test(message) && !FAULT_PLACE.test(message));
}

/** A wrapped line: not blank, not a new `dtrace:` message, after a message still open. */
function wrapped(kind: Kind) {
  return (message: string, line: string): string | null => {
    const l = line.trim();
    if (l === '' || l.startsWith('dtrace:') || !open(message, kind)) return null;
    return `${message.replace(/\s*\\$/, '')} ${l}`.slice(0, MAX_MESSAGE);
  };
}

/** Classifies one stderr line: null for blank lines and lines that are not DTrace's own. */
export function classifyDtraceDiagnostic(line: string): Diagnostic | null {
  const t = line.trim();
  if (!t.startsWith('dtrace:')) return null;
  let body = t.slice('dtrace:'.length).trim().replace(/\s*\\$/, '');
  const message = t.slice(0, MAX_MESSAGE);
  const tag = /^\[(DTRACEDROP_[A-Z_]+)\]\s*/.exec(body);
  let e: Omit<TraceEvent, 'message'> | undefined;
  if (tag) {
    body = body.slice(tag[0].length);
    const count = /^(\d+)/.exec(body);
    const cpu = / on CPU (\d+)/.exec(body);
    e = { kind: TAGS[tag[1]] ?? 'warning', count: count ? n(count[1]) : 1, ...(cpu ? { cpu: n(cpu[1]) } : {}) };
  } else {
    for (const [re, f] of RULES) {
      const m = re.exec(body);
      if (m) {
        e = f(m);
        break;
      }
    }
  }
  // unrecognised `dtrace:` lines are warnings, never dropped
  const event: TraceEvent = { ...(e ?? { kind: 'warning', count: 1 }), message };
  return open(message, event.kind) ? { event, continues: wrapped(event.kind) } : { event };
}

/** One line alone (no wrapped lines): the event, or null. */
export const parseDtraceDiagnostic = (line: string): TraceEvent | null => classifyDtraceDiagnostic(line)?.event ?? null;

/** Every event of a whole DTrace stderr text, wrapped lines joined. */
export const parseDtraceDiagnostics = (text: string): TraceEvent[] => readDiagnostics(classifyDtraceDiagnostic, text);
