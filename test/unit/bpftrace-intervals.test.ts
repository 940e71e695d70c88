// What the agent makes of the curated bpftrace scripts' output: the two alternating maps are
// one aggregation, stacks carry their process and get their user frames named, and a
// script's own counter reveals samples that did not arrive.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { bpftraceDriver, finishInterval } from '../../agent/tracers/bpftrace.js';
import { timeSlices } from '../../agent/tracers/time-slices.js';
import { stackFieldHints } from '../../agent/parse/bpftrace-keys.js';
import { findScript, scriptFile, scriptsDir } from '../../scripts/catalog.js';
import type { Interval } from '../../agent/tracers/driver.js';
import type { StackRecord } from '../../protocol/records.js';

const meta = findScript('cpu-profile')!;
const file = scriptFile(meta, 'bpftrace', scriptsDir());
const line = (o: unknown) => JSON.stringify(o) + '\n';
const stub = { frames: async (pid: number, f: readonly string[]) => f.map((x) => (x.startsWith('0x') ? `fn_${pid}_${x}` : x)) };

function decode(text: string): Interval[] {
  const d = bpftraceDriver.stdout(meta, file);
  return [...d.push(text), ...d.end()];
}

describe('curated bpftrace output', () => {
  it('knows which key fields of each script are stacks, also when both stacks are empty', () => {
    const hints = stackFieldHints(readFileSync(file, 'utf8'));
    // kstack, ustack, pid, comm and the sample's time slice
    expect(hints['@samples_even']).toEqual(['kstack', 'ustack', 'key', 'key', 'key']);
    const off = stackFieldHints(readFileSync(scriptFile(findScript('offcpu')!, 'bpftrace', scriptsDir()), 'utf8'));
    expect(off['@offcpu_odd']).toEqual(['kstack', 'ustack', 'key', 'key']);
    const leak = stackFieldHints(readFileSync(scriptFile(findScript('memleak')!, 'bpftrace', scriptsDir()), 'utf8'));
    expect(leak['@bytes_even']).toEqual(['ustack', 'key', 'key']);
  });

  it('reads a cpu-profile interval: one aggregation, stacks keyed by process and time slice, user frames named', async () => {
    const [iv] = decode(
      line({ type: 'printf', data: '=== zonescope interval 1 ===\n' }) +
        line({
          type: 'map',
          data: {
            '@samples_even': {
              '\n    do_idle+310\n    cpu_startup_entry+37\n,,0,swapper/1,5000': 190,
              '\n    do_idle+310\n    cpu_startup_entry+37\n,,0,swapper/1,5001': 7,
              ',\n    0x7f00000010\n    0x401000\n,4242,node,5000': 3,
              ',,83,kdamond.0,5001': 1,
            },
          },
        }) +
        line({ type: 'map', data: { '@zs_seen_samples_even': 201 } }) +
        line({ type: 'printf', data: '=== zonescope interval 2 ===\n' }),
    );
    // as the runner does: the slices first (monotonic 20 ms units → epoch ms), then the names
    const out = await finishInterval({ ...iv, records: timeSlices(iv.records, 1_000) }, 'samples', stub);
    const stacks = out.records.filter((r): r is StackRecord => r.kind === 'stack');
    expect(stacks.map((s) => [s.agg, s.keys, s.kernel, s.stack, s.value, s.slices])).toEqual([
      ['samples', [0, 'swapper/1'], 2, ['do_idle+310', 'cpu_startup_entry+37'], 197, [[101_000, 190], [101_020, 7]]],
      ['samples', [4242, 'node'], 0, ['fn_4242_0x7f00000010', 'fn_4242_0x401000'], 3, [[101_000, 3]]],
      ['samples', [83, 'kdamond.0'], 0, [], 1, [[101_020, 1]]],
    ]);
    expect(out.records.every((r) => r.kind === 'stack')).toBe(true);
    expect(out.events).toEqual([]);
  });

  it('sends an interval as soon as its end marker comes, not when the next one starts', () => {
    const d = bpftraceDriver.stdout(meta, file);
    const first = d.push(
      line({ type: 'attached_probes', data: { probes: 3 } }) +
        line({ type: 'printf', data: '=== zonescope interval 1 ===\n' }) +
        line({ type: 'map', data: { '@samples_even': { ',\n    0x401000\n,7,burner': 90 } } }) +
        line({ type: 'map', data: { '@zs_seen_samples_even': 90 } }) +
        line({ type: 'printf', data: '=== zonescope interval 1 end ===\n' }),
    );
    expect(first).toHaveLength(1);
    expect(first[0].records.filter((r) => r.kind === 'stack')).toHaveLength(1);
    // the next start does not make an empty interval of the gap; an empty interval still counts
    expect(d.push(line({ type: 'printf', data: '=== zonescope interval 2 ===\n' }))).toEqual([]);
    expect(d.push(line({ type: 'printf', data: '=== zonescope interval 2 end ===\n' }))).toEqual([{ records: [], events: [] }]);
    // bpftrace's exit prints the cleared counters: no third interval
    expect(d.push(line({ type: 'map', data: { '@zs_seen_samples_even': 0 } }) + line({ type: 'map', data: { '@zs_seen_samples_odd': 0 } }))).toEqual([]);
    expect(d.end()).toEqual([]);
  });

  it('reports samples its counter saw that did not arrive', async () => {
    const [iv] = decode(
      line({ type: 'printf', data: '=== zonescope interval 1 ===\n' }) +
        line({ type: 'map', data: { '@samples_odd': { ',\n    0x401000\n,7,burner': 90 } } }) +
        line({ type: 'map', data: { '@zs_seen_samples_odd': 100 } }),
    );
    const out = await finishInterval(iv, 'samples', stub);
    expect(out.events).toEqual([{ kind: 'samples-lost', count: 10, message: expect.stringContaining('10 lost (10.0%)') }]);
    expect(out.records.some((r) => r.kind === 'scalar' && r.agg.startsWith('zs_'))).toBe(false);
  });
});

describe('negative sums', () => {
  it('reads a sum bpftrace printed as an unsigned 64-bit value as the negative number it is, keys untouched', async () => {
    const [iv] = decode(
      line({ type: 'printf', data: '=== zonescope interval 1 ===\n' }) +
        '{"type": "map", "data": {"@bytes_even": {"\\n    0x401000\\n,18446744073709547520,zs": 18446744073709547520, "\\n    0x401010\\n,7,zs": 65536}}}\n' +
        '{"type": "map", "data": {"@zs_seen_bytes_even": 18446744073709551516}}\n',
    );
    const out = await finishInterval(iv, 'bytes', stub);
    const stacks = out.records.filter((r): r is StackRecord => r.kind === 'stack');
    expect(stacks.map((s) => [s.keys, s.value])).toEqual([
      [['18446744073709547520', 'zs'], -4096],
      [[7, 'zs'], 65536],
    ]);
    // the counter (-100 net) is off by what the two stacks hold: reported as lost
    expect(out.events[0]).toMatchObject({ kind: 'samples-lost', count: 61540 });
  });
});
