// DTrace: the script runs with bounded buffers and no destructive actions (-w is never
// passed); the zone name is $$1. Output is split on the scripts' interval marker and each
// interval's printa text goes through the aggregation parser; a line it cannot read is skipped
// and counted (an `unparsed` event), never the interval around it.
import { readFileSync } from 'node:fs';
import { dtraceInterval, DtraceIntervalSplitter, type AggNames, type IntervalText } from '../parse/dtrace.js';
import { classifyDtraceDiagnostic } from '../parse/dtrace-diagnostics.js';
import { DiagnosticReader } from '../parse/diagnostic-lines.js';
import { AllocJoin } from '../parse/dtrace-events.js';
import type { ScriptMeta } from '../../scripts/catalog.js';
import type { TracerDriver } from './driver.js';
import { checkSeen } from './seen-counter.js';
import { positional, tracerFlags } from '../../scripts/params.js';

/** Options that bound what a trace may cost the node (see dtrace(1M) -x). */
export const DTRACE_OPTIONS = ['bufsize=4m', 'aggsize=4m', 'aggrate=2hz', 'switchrate=4hz', 'dynvarsize=8m', 'strsize=256', 'stackframes=64', 'ustackframes=64', 'cleanrate=101hz'];

/**
 * The aggregations the script prints, in printa order: DTrace does not print their names.
 * `printa(@a, @b)` prints both on one line per key: that printa gives the group ['a', 'b'].
 */
export function printaNames(source: string): AggNames {
  return [...source.matchAll(/printa\s*\(\s*(?:"[^"]*"\s*,\s*)?(@[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*@[A-Za-z_][A-Za-z0-9_]*)*)/g)].map((m) => {
    const group = m[1].split(',').map((n) => n.trim().slice(1));
    return group.length === 1 ? group[0] : group;
  });
}

export const dtraceDriver: TracerDriver = {
  name: 'dtrace',
  async invocation(meta, file, zone, durationS, values) {
    const args = ['-q', ...DTRACE_OPTIONS.flatMap((o) => ['-x', o]), ...tracerFlags(meta, 'dtrace', values), '-s', file, zone.name, String(durationS), ...positional(meta, values)];
    return { cmd: 'dtrace', args, env: {} };
  },
  stdout(meta: ScriptMeta, file: string) {
    const names = printaNames(readFileSync(file, 'utf8'));
    const split = new DtraceIntervalSplitter();
    const join = meta.join === 'alloc-free' ? new AllocJoin() : undefined;
    // the scripts' own counters (@zs_seen_NAME) are checked against what was printed
    const parse = (texts: IntervalText[]) =>
      texts.map(({ text, line }) => {
        if (join) return join.interval(text);
        const iv = dtraceInterval(text, names, line);
        const seen = checkSeen(iv.records, meta.unit);
        return { records: seen.records, events: [...iv.events, ...seen.events] };
      });
    return { push: (chunk) => parse(split.push(chunk)), end: () => parse(split.end()) };
  },
  stderr: () => new DiagnosticReader(classifyDtraceDiagnostic),
};
