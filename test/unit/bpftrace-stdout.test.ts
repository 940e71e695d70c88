// The bpftrace stdout decoder as the runner feeds it: pipe-sized chunks of a stack map that
// bpftrace prints as one multi-megabyte JSON line, and a bad line among good ones.
import { describe, expect, it } from 'vitest';
import { bpftraceDriver } from '../../agent/tracers/bpftrace.js';
import { findScript, scriptFile, scriptsDir } from '../../scripts/catalog.js';
import { INTERVAL_MARKER } from '../../agent/parse/bpftrace.js';
import type { Interval } from '../../agent/tracers/driver.js';

const meta = findScript('cpu-profile')!;
const marker = `{"type": "printf", "data": "${INTERVAL_MARKER} 1\\n"}\n`;
const map = (keys: [string, number][]) => `{"type": "map", "data": {"@": {${keys.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}}}\n`;

/** `cpuMs`: this process's CPU time (user + system) spent decoding; unlike wall-clock time it
 *  does not grow when other processes load the machine. */
function feed(text: string, chunk: number): { intervals: Interval[]; cpuMs: number } {
  const d = bpftraceDriver.stdout(meta, scriptFile(meta, 'bpftrace', scriptsDir()));
  const intervals: Interval[] = [];
  const t0 = process.cpuUsage();
  for (let i = 0; i < text.length; i += chunk) intervals.push(...d.push(text.slice(i, i + chunk)));
  intervals.push(...d.end());
  const used = process.cpuUsage(t0);
  return { intervals, cpuMs: (used.user + used.system) / 1000 };
}

describe('bpftrace stdout decoder', () => {
  it('a 30 MB stack map line arriving in 64 KiB chunks is decoded in linear time (the agent stays responsive)', () => {
    const keys: [string, number][] = [];
    const pad = 'x'.repeat(2800);
    for (let i = 0; i < 10_000; i++) keys.push([`\n        hot_${i}+12\n        main+5\n        ${pad}\n`, i + 1]);
    const line = map(keys);
    expect(line.length).toBeGreaterThan(28e6);
    const baseline = feed(line, line.length).cpuMs; // one chunk: the parse itself
    const { intervals, cpuMs } = feed(line, 65536);
    const records = intervals.flatMap((iv) => iv.records);
    expect(records).toHaveLength(10_000);
    expect(records.reduce((n, r) => n + ('value' in r ? r.value : 0), 0)).toBe((10_000 * 10_001) / 2);
    // rescanning the line so far on every chunk took ~7 s here, blocking samples and pings
    expect(cpuMs).toBeLessThan(Math.max(2500, baseline * 6));
  });

  it('a malformed JSON line is counted as unparsed and costs only itself, not the lines after it in the chunk', () => {
    const text = map([['\n        a+1\n', 3]]) + '{"type": "map", "data": {"@": {broken\n' + map([['\n        b+1\n', 4]]) + marker + map([['\n        c+1\n', 5]]);
    for (const chunk of [text.length, 7]) {
      const { intervals } = feed(text, chunk);
      expect(intervals).toHaveLength(2);
      const names = (iv: Interval) => iv.records.map((r) => (r.kind === 'stack' ? r.stack.join(';') : JSON.stringify(r)));
      expect(names(intervals[0])).toEqual(['a+1', 'b+1']);
      expect(names(intervals[1])).toEqual(['c+1']);
      expect(intervals[0].events).toEqual([expect.objectContaining({ kind: 'unparsed', message: expect.stringMatching(/unparsed tracer output: bpftrace: not a JSON line/) })]);
    }
  });
});
