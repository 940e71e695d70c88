// bpftrace's stderr (text even with `-f json`) → countable TraceEvents. The forms, from its
// logger (src/log.cpp) and seen from bpftrace 0.17 here:
//   FILE:L:C1-C2: ERROR: msg       a single-line location; the script line and a `~~~` marker
//                                  under the culprit follow on two more lines
//   FILE:L1-L2: ERROR: msg         a location spanning lines: no column, nothing follows
//   FILE:L:C: ERROR: / FILE:L: ERROR:   older and newer releases
//   L:C1-C2: ERROR: msg            no file name (FILE is `stdin` for -e programs)
//   ERROR: msg / FATAL: / BUG: [src:line] msg   no location
//   WARNING:, HINT:, INFO: (with or without a location); `Attaching N probes...`; `Lost N events`
// A located ERROR is the script failing to compile or attach (the trace never starts); a bare
// ERROR is an error at run time, except the RLIMIT_MEMLOCK notice 0.17 prints on every start.
import type { TraceEvent } from '../../protocol/records.js';
import { MAX_MESSAGE, readDiagnostics, stripAnsi, type Diagnostic } from './diagnostic-lines.js';

const LEVEL = '(ERROR|FATAL|BUG|WARNING|HINT|INFO|DEBUG)';
const LOCATED = new RegExp(`^(?:(.*?):)?(\\d+)(?::(\\d+))?(?:-(\\d+))?: ${LEVEL}: `);
const BARE = new RegExp(`^${LEVEL}: `);
const MARKER = /^[ ~]*~[ ~]*$/;

function kindOf(level: string, located: boolean, text: string): TraceEvent['kind'] {
  switch (level) {
    case 'ERROR':
      if (/RLIMIT_MEMLOCK/.test(text)) return 'warning'; // 0.17 goes on working after it
      return located ? 'compile-error' : 'error';
    case 'FATAL':
    case 'BUG':
      return 'error';
    case 'WARNING':
      return 'warning';
    default:
      return 'info';
  }
}

/** Whether a line is one of bpftrace's own (so it cannot be the script line echoed after an error). */
const isOwn = (t: string) => LOCATED.test(t) || BARE.test(t) || /^(Attaching \d+ probe|Lost \d+ event)/.test(t);

/** The script line and its marker after a single-line located message (see log.cpp). */
function sourceEcho(message: string, line: string, taken: number): string | null {
  const l = stripAnsi(line).trimEnd();
  if (taken === 0 && l.trim() !== '' && !isOwn(l.trim())) return `${message}\n${l}`;
  if (taken === 1 && MARKER.test(l)) return `${message}\n${l}`;
  return null;
}

/** Classifies one stderr line; blank lines are nothing. */
export function classifyBpftraceDiagnostic(line: string): Diagnostic | null {
  const t = stripAnsi(line).trim();
  if (t === '') return null;
  const message = t.slice(0, MAX_MESSAGE);
  const ev = (kind: TraceEvent['kind'], count = 1): TraceEvent => ({ kind, count, message });
  const loc = LOCATED.exec(t);
  if (loc) {
    const event = ev(kindOf(loc[5], true, t));
    // `L:C-C` (one line, with columns) is followed by the script line and the marker
    return loc[3] !== undefined ? { event, continues: sourceEcho } : { event };
  }
  const bare = BARE.exec(t);
  if (bare) return { event: ev(kindOf(bare[1], false, t)) };
  const attach = /^Attaching (\d+) probes?/.exec(t);
  if (attach) return { event: ev('info', Number(attach[1])) };
  const lost = /^Lost (\d+) events?/.exec(t);
  if (lost) return { event: ev('drops', Number(lost[1])) };
  // libbpf/bcc lines (`open(/sys/kernel/debug/tracing/...): No such file or directory`) and
  // anything new: kept as a warning, never dropped
  return { event: ev('warning') };
}

/** Every event of a whole bpftrace stderr text. */
export const parseBpftraceDiagnostics = (text: string): TraceEvent[] => readDiagnostics(classifyBpftraceDiagnostic, text);
