// The DTrace stdout decoder as the runner feeds it: an interval with one line that cannot be
// read keeps every other record, and the line is counted (an `unparsed` event, which the
// server turns into zonescope_trace_lines_unparsed_total).
import { describe, expect, it } from 'vitest';
import { dtraceDriver, printaNames } from '../../agent/tracers/dtrace.js';
import type { Interval } from '../../agent/tracers/driver.js';
import { findScript, scriptFile, scriptsDir } from '../../scripts/catalog.js';

const meta = findScript('syscall-latency')!;

function feed(text: string, chunk: number): Interval[] {
  const d = dtraceDriver.stdout(meta, scriptFile(meta, 'dtrace', scriptsDir()));
  const out: Interval[] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...d.push(text.slice(i, i + chunk)));
  return [...out, ...d.end()];
}

const row = (v: string, count: number) => `${v.padStart(16)} |${'@'.repeat(Math.min(40, count))}${' '.repeat(40 - Math.min(40, count))} ${count}`;
const hist = (key: string, rows: [string, number][]) =>
  [`  ${key}`, '           value  ------------- Distribution ------------- count    ', ...rows.map(([v, c]) => row(v, c)), ''].join('\n');

describe('DTrace stdout decoder', () => {
  it('sends an interval as soon as its end marker comes, not when the next one starts', () => {
    const d = dtraceDriver.stdout(findScript('syscall-latency')!, scriptFile(findScript('syscall-latency')!, 'dtrace', scriptsDir()));
    const first = d.push(['=== zonescope interval 1 ===', '', hist('read', [['1000', 0], ['2000', 3], ['3000', 0]]), '=== zonescope interval 1 end ===', ''].join('\n'));
    expect(first).toHaveLength(1);
    expect(first[0].records.filter((r) => r.kind === 'hist').map((h) => h.keys)).toEqual([['read']]);
    // the next start marker does not make an empty interval of the gap
    expect(d.push('=== zonescope interval 2 ===\n')).toEqual([]);
    expect(d.push(['', hist('write', [['1000', 0], ['5000', 1], ['6000', 0]]), '=== zonescope interval 2 end ===', ''].join('\n'))).toHaveLength(1);
    expect(d.end()).toEqual([]);
  });

  it('an interval with one malformed line in the middle keeps every other record', () => {
    const read = hist('read', [['1000', 0], ['2000', 7], ['3000', 2], ['4000', 0]]).split('\n');
    read.splice(3, 0, '            2500 |@@@@@@@ ?? 3'); // a row garbled in the middle of a histogram
    const text = [
      '=== zonescope interval 1 ===',
      '',
      ...read,
      hist('write', [['1000', 0], ['5000', 4], ['6000', 0]]),
      'this line is no aggregation output',
      '',
      hist('close', [['1000', 0], ['9000', 1], ['10000', 0]]),
      '=== zonescope interval 2 ===',
      '',
      hist('read', [['1000', 0], ['2000', 1], ['3000', 0]]),
    ].join('\n');
    for (const chunk of [text.length, 13]) {
      const ivs = feed(text, chunk);
      expect(ivs).toHaveLength(2);
      const hists = ivs[0].records.filter((r) => r.kind === 'hist');
      expect(hists.map((h) => [h.keys, h.buckets.map((b) => b.count)])).toEqual([
        [['read'], [0, 7, 2, 0]],
        [['write'], [0, 4, 0]],
        [['close'], [0, 1, 0]],
      ]);
      expect(ivs[0].events).toEqual([
        { kind: 'unparsed', count: 2, message: '2 lines of DTrace output skipped; first, line 6: not a histogram row: 2500 |@@@@@@@ ?? 3' },
      ]);
      expect(ivs[1].records).toHaveLength(1);
      expect(ivs[1].events).toEqual([]);
    }
  });
});

describe('printaNames', () => {
  it('names the aggregations in print order, several printed together as a group', () => {
    expect(printaNames('printa(@calls); printa("%-16s %@d\\n", @lat);\nprinta(@a, @b);printa("%s %@d %@d\\n", @c , @d);')).toEqual(['calls', 'lat', ['a', 'b'], ['c', 'd']]);
  });
});
