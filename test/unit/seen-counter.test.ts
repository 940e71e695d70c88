// A script's own per-interval counter against what reached the agent, on DTrace text in the
// format the stand-in replays (test/fakes/illumos/dtrace/): equal counts pass silently, a
// shortfall is a samples-lost event saying how many.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dtraceDriver } from '../../agent/tracers/dtrace.js';
import { findScript, scriptFile, scriptsDir } from '../../scripts/catalog.js';

const meta = findScript('cpu-profile')!;
const replay = readFileSync(join(import.meta.dirname, '../fakes/illumos/dtrace/cpu-profile.txt'), 'utf8')
  .split('=== zonescope interval ===\n')[1]
  .split('\n')
  .filter((l) => !l.startsWith('!stderr'))
  .join('\n');

function interval(text: string) {
  const d = dtraceDriver.stdout(meta, scriptFile(meta, 'dtrace', scriptsDir()));
  return [...d.push(`=== zonescope interval 1 ===\n${text}`), ...d.end()][0];
}

describe("a script's own sample counter", () => {
  it('is taken off the records and says nothing when every sample arrived', () => {
    const iv = interval(replay);
    const stacks = iv.records.filter((r) => r.kind === 'stack');
    expect(stacks.reduce((a, r) => a + (r.kind === 'stack' ? r.value : 0), 0)).toBe(97);
    expect(iv.records.some((r) => r.kind !== 'printf' && r.agg.startsWith('zs_'))).toBe(false);
    expect(iv.events).toEqual([]);
  });

  it('reports the samples it saw that did not arrive', () => {
    const iv = interval(replay.replace(/^ +97$/m, ' %16d'.replace('%16d', '107'.padStart(16))));
    expect(iv.events).toEqual([{ kind: 'samples-lost', count: 10, message: '@samples: the script saw 107 samples this interval, 97 arrived: 10 lost (9.3%)' }]);
  });
});
