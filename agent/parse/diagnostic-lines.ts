// Tracer stderr is line-based, but some messages take more than one line: bpftrace follows a
// single-line positioned error with the script line and a `~~~` marker under the culprit,
// DTrace's compile errors and "error on enabled probe" messages may be wrapped. A reader holds
// such a message back until the line after it shows whether it continues, so the event (and a
// trace's failure reason) carries the whole text.
import type { TraceEvent } from '../../protocol/records.js';

export const MAX_MESSAGE = 4096;

export interface Diagnostic {
  event: TraceEvent;
  /**
   * Whether `line` continues this message (`taken` lines already did): returns the message
   * with it, or null when the message is complete. Absent: the message is one line.
   */
  continues?: (message: string, line: string, taken: number) => string | null;
}

export type Classifier = (line: string) => Diagnostic | null;

/** A stateful reader: one per tracer process; `end()` releases a message held back. */
export class DiagnosticReader {
  private pending: { d: Diagnostic; taken: number } | null = null;

  constructor(private readonly classify: Classifier) {}

  line(line: string): TraceEvent[] {
    const out: TraceEvent[] = [];
    const p = this.pending;
    if (p) {
      const joined = p.d.continues!(p.d.event.message, line, p.taken);
      if (joined !== null) {
        p.d.event.message = joined.slice(0, MAX_MESSAGE);
        p.taken++;
        return out;
      }
      out.push(p.d.event);
      this.pending = null;
    }
    const d = this.classify(line);
    if (!d) return out;
    if (d.continues) this.pending = { d, taken: 0 };
    else out.push(d.event);
    return out;
  }

  end(): TraceEvent[] {
    const p = this.pending;
    this.pending = null;
    return p ? [p.d.event] : [];
  }
}

/** Every event of a whole stderr text, for tests and the CLI. */
export function readDiagnostics(classify: Classifier, text: string): TraceEvent[] {
  const r = new DiagnosticReader(classify);
  return [...text.split(/\r?\n/).flatMap((l) => r.line(l)), ...r.end()];
}

/** Terminal colours (bpftrace colours its labels on a terminal; pasted output keeps them). */
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
